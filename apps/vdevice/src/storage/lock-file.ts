/**
 * The lock file that keeps two processes from opening one data directory. It
 * holds the owner's pid and a newline, and appears atomically with its content
 * (written to a temporary file, then hard-linked into place, which fails when a
 * lock already exists).
 */

import type { Logger } from "../log.ts";
import { denoFs, isAlreadyExists, isNotFound, randomSuffix, removeIfExists, syncDirectory, writeNewFile } from "./deno-fs.ts";
import { processExists } from "./process-alive.ts";

export const LOCK_FILE_NAME = "lock";

/** Thrown when another live process holds the lock. */
export class DirectoryLockedError extends Error {
  constructor(
    readonly directory: string,
    readonly pid: number,
  ) {
    super(
      `device data directory ${directory} is in use by process ${pid} (lock file ${directory}/${LOCK_FILE_NAME}); ` +
        `stop that process first, or delete the lock file if no such process runs`,
    );
    this.name = "DirectoryLockedError";
  }
}

/**
 * Creates the lock for this process. A lock whose pid no longer runs, or whose
 * content is not a pid, is taken over with a warning; a live one throws
 * DirectoryLockedError.
 */
export async function acquireLock(directory: string, log: Logger): Promise<void> {
  const path = `${directory}/${LOCK_FILE_NAME}`;
  const deno = denoFs();
  const temporary = `${directory}/.lock.${randomSuffix()}.tmp`;
  await writeNewFile(temporary, new TextEncoder().encode(`${deno.pid}\n`));

  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await deno.link(temporary, path);
        await syncDirectory(directory);
        return;
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }

      const owner = await readLockOwner(path);
      if (owner === undefined) continue;
      if (owner !== null && (await isProcessAlive(owner))) throw new DirectoryLockedError(directory, owner);

      log.warn("taking over a stale lock of the device data directory", { directory, stalePid: owner ?? "unreadable" });
      await removeIfExists(path);
    }
    throw new Error(`could not lock device data directory ${directory}: another process keeps creating ${path}`);
  } finally {
    await removeIfExists(temporary);
  }
}

/** Removes the lock if this process holds it. */
export async function releaseLock(directory: string): Promise<void> {
  const path = `${directory}/${LOCK_FILE_NAME}`;
  if ((await readLockOwner(path)) !== denoFs().pid) return;
  await removeIfExists(path);
  await syncDirectory(directory);
}

/** Returns the pid in the lock file, null when its content is not a pid, undefined when it is gone. */
async function readLockOwner(path: string): Promise<number | null | undefined> {
  let text: string;
  try {
    text = await denoFs().readTextFile(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return /^\d+\n?$/.test(text) ? Number.parseInt(text, 10) : null;
}

/**
 * Tells whether `pid` runs: through kill(pid, 0) where FFI is allowed, else
 * through /proc. When neither can tell (other systems, or Deno refusing /proc
 * without --allow-all), the pid counts as alive, so a stale lock must be
 * removed by hand, as the locked-directory error explains.
 */
async function isProcessAlive(pid: number): Promise<boolean> {
  const deno = denoFs();
  if (pid === deno.pid) return true;

  const exists = processExists(pid);
  if (exists !== undefined) return exists;

  if (deno.build.os !== "linux") return true;
  try {
    await deno.stat(`/proc/${pid}`);
    return true;
  } catch (error) {
    return !isNotFound(error);
  }
}
