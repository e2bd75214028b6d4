/**
 * The device secret: 32 random bytes from which the keystore derives kbase.
 * Anyone holding both this file and the data directory can test PIN guesses
 * offline, so keep it outside the data directory (by default the sibling file
 * `<data-dir>.secret`) and out of backups of the data directory.
 */

import { DEVICE_SECRET_LENGTH } from "@hsmkit/keystore";
import { createLogger, type Logger } from "../log.ts";
import { denoFs, isAlreadyExists, isNotFound, randomSuffix, removeIfExists, syncDirectory, writeNewFile } from "./deno-fs.ts";

/** Returns the default secret file of a data directory: `<data-dir>.secret` beside it. */
export function defaultSecretPath(dataDirectory: string): string {
  return `${dataDirectory.replace(/\/+$/, "")}.secret`;
}

/**
 * Reads the device secret at `path`, or creates it (mode 0600, 32 bytes from
 * crypto.getRandomValues) when the file does not exist. Throws when the file
 * does not contain exactly 32 bytes, and when it is missing but `create` is
 * false (the data directory already contains a device that only its own secret
 * opens).
 */
export async function loadOrCreateDeviceSecret(
  path: string,
  options: { log?: Logger; create?: boolean } = {},
): Promise<Uint8Array> {
  const log = options.log ?? createLogger({ level: "warn" });
  const existing = await readSecret(path, log);
  if (existing !== undefined) return existing;

  if (options.create === false) {
    throw new Error(
      `device secret file ${path} not found, but the data directory already contains a device: ` +
        `restore the secret file there (or point --secret-file at it); a new secret cannot open the existing data`,
    );
  }

  const directory = parentOf(path);
  await denoFs().mkdir(directory, { recursive: true, mode: 0o700 });
  const secret = crypto.getRandomValues(new Uint8Array(DEVICE_SECRET_LENGTH));
  const temporary = `${directory}/.${baseName(path)}.${randomSuffix()}.tmp`;
  try {
    await writeNewFile(temporary, secret);
    await denoFs().link(temporary, path);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    secret.fill(0);
    return (await readSecret(path, log))!;
  } finally {
    await removeIfExists(temporary);
  }
  await syncDirectory(directory);
  log.info("created a new device secret", { path });
  return secret;
}

async function readSecret(path: string, log: Logger): Promise<Uint8Array | undefined> {
  const deno = denoFs();
  let bytes: Uint8Array;
  try {
    bytes = await deno.readFile(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }

  if (bytes.length !== DEVICE_SECRET_LENGTH) {
    bytes.fill(0);
    throw new Error(
      `invalid device secret file ${path}: ${bytes.length} bytes, expected ${DEVICE_SECRET_LENGTH}; ` +
        `restore the original file, because the device data cannot be opened without it`,
    );
  }
  const mode = (await deno.stat(path)).mode;
  if (mode !== null && (mode & 0o077) !== 0) {
    log.warn("device secret file is readable by other users; run chmod 600 on it", { path, mode: (mode & 0o777).toString(8) });
  }
  return bytes;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
