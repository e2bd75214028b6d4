/**
 * A StorageBackend over one directory: one file per record, written atomically
 * and durably, and a lock file so that one process at a time owns the device.
 *
 * Directory layout (mode 0700, files 0600):
 *   <name>.rec   one record, name escaped as in record-names.ts
 *   lock         pid of the owning process
 *   journal      a batch being applied (present only during a commit or after a crash)
 *   .*.tmp       temporary files (removed on open)
 *
 * Each record write goes to a temporary file in the same directory, which is
 * fsynced and renamed over the record. The directory is fsynced after renames
 * and removals. A batch of more than one change is first written to the
 * journal, so a crash during the batch is completed on the next open.
 */

import type { StorageBackend } from "@hsmkit/keystore";
import { createLogger, type Logger } from "../log.ts";
import { denoFs, isAlreadyExists, isNotFound, randomSuffix, removeIfExists, syncDirectory, writeNewFile } from "./deno-fs.ts";
import { type Batch, decodeJournal, encodeJournal } from "./journal.ts";
import { acquireLock, releaseLock } from "./lock-file.ts";
import { recordFileName, recordNameOf } from "./record-names.ts";

export { DirectoryLockedError } from "./lock-file.ts";

const JOURNAL_FILE_NAME = "journal";
const DIRECTORY_MODE = 0o700;

export interface DirectoryBackendOptions {
  /** Receives the stale-lock takeover, journal replay and permission repairs; defaults to warnings on stderr. */
  log?: Logger;
}

export interface DirectoryBackend extends StorageBackend {
  readonly directory: string;

  /** Releases the lock; later calls throw. */
  close(): Promise<void>;
}

/**
 * Opens (creating it if needed) the data directory `directory`, takes its lock,
 * removes leftover temporary files and finishes an interrupted batch.
 */
export async function openDirectoryBackend(directory: string, options: DirectoryBackendOptions = {}): Promise<DirectoryBackend> {
  const log = options.log ?? createLogger({ level: "warn" });
  const path = directory.replace(/\/+$/, "") || "/";
  await prepareDirectory(path, log);
  await acquireLock(path, log);

  try {
    await removeTemporaryFiles(path, log);
    await replayJournal(path, log);
  } catch (error) {
    await releaseLock(path);
    throw error;
  }
  return new Directory(path);
}

class Directory implements DirectoryBackend {
  #closed = false;

  constructor(readonly directory: string) {}

  async get(name: string): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    try {
      return await denoFs().readFile(this.#pathOf(name));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(): Promise<string[]> {
    this.#checkOpen();
    const names: string[] = [];
    for await (const entry of denoFs().readDir(this.directory)) {
      const name = entry.isFile ? recordNameOf(entry.name) : undefined;
      if (name !== undefined) names.push(name);
    }
    return names;
  }

  async commit(changes: Batch): Promise<void> {
    this.#checkOpen();
    if (changes.size === 0) return;
    for (const name of changes.keys()) recordFileName(name);

    if (changes.size === 1) {
      await applyBatch(this.directory, changes);
      return;
    }

    const journal = `${this.directory}/${JOURNAL_FILE_NAME}`;
    await replaceFile(this.directory, journal, encodeJournal(changes));
    await syncDirectory(this.directory);
    await applyBatch(this.directory, changes);
    await denoFs().remove(journal);
    await syncDirectory(this.directory);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await releaseLock(this.directory);
  }

  #pathOf(name: string): string {
    return `${this.directory}/${recordFileName(name)}`;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error(`directory backend ${this.directory} is closed`);
  }
}

/** Creates the directory with mode 0700, or narrows an existing one to 0700. */
async function prepareDirectory(directory: string, log: Logger): Promise<void> {
  const deno = denoFs();
  try {
    await deno.mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
  } catch (error) {
    // mkdir reports a file in the way as "already exists"; the stat below names the real problem.
    if (!isAlreadyExists(error)) throw error;
  }
  const info = await deno.stat(directory);
  if (!info.isDirectory) {
    throw new Error(`device data path ${directory} exists but is not a directory: choose another --data-dir`);
  }
  if (info.mode !== null && (info.mode & 0o777) !== DIRECTORY_MODE) {
    log.warn("restricting device data directory to its owner", { directory, mode: (info.mode & 0o777).toString(8) });
    await deno.chmod(directory, DIRECTORY_MODE);
  }
}

/** Writes `data` to a temporary file beside `path`, fsyncs it and renames it over `path`. */
async function replaceFile(directory: string, path: string, data: Uint8Array): Promise<void> {
  const temporary = `${directory}/.${randomSuffix()}.tmp`;
  try {
    await writeNewFile(temporary, data);
    await denoFs().rename(temporary, path);
  } catch (error) {
    await removeIfExists(temporary);
    throw error;
  }
}

/** Applies each change of `batch` and fsyncs the directory once at the end. */
async function applyBatch(directory: string, batch: Batch): Promise<void> {
  for (const [name, value] of batch) {
    const path = `${directory}/${recordFileName(name)}`;
    if (value === null) await removeIfExists(path);
    else await replaceFile(directory, path, value);
  }
  await syncDirectory(directory);
}

/** Removes temporary files that a crash left behind; they never hold committed data. */
async function removeTemporaryFiles(directory: string, log: Logger): Promise<void> {
  const leftovers: string[] = [];
  for await (const entry of denoFs().readDir(directory)) {
    if (entry.isFile && entry.name.startsWith(".") && entry.name.endsWith(".tmp")) leftovers.push(entry.name);
  }
  if (leftovers.length === 0) return;

  for (const name of leftovers) await removeIfExists(`${directory}/${name}`);
  await syncDirectory(directory);
  log.warn("removed temporary files left by an interrupted write", { directory, count: leftovers.length });
}

/**
 * Finishes the batch of a journal that a crash left behind. The journal is
 * fsynced before it is renamed into place, so one that does not decode was
 * corrupted on disk. Such a journal is dropped with an error line.
 */
async function replayJournal(directory: string, log: Logger): Promise<void> {
  const path = `${directory}/${JOURNAL_FILE_NAME}`;
  let bytes: Uint8Array;
  try {
    bytes = await denoFs().readFile(path);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }

  const batch = decodeJournal(bytes);
  if (batch === undefined) {
    log.error("dropping a corrupt commit journal; the records of its batch may be incomplete", { directory });
  } else {
    await applyBatch(directory, batch);
    log.warn("completed a batch interrupted by a crash", { directory, changes: batch.size });
  }
  await denoFs().remove(path);
  await syncDirectory(directory);
}
