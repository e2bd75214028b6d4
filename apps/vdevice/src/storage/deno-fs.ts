/**
 * The Deno file-system APIs that storage uses, typed here so that the
 * repository's `tsc` (which has Node types only) checks this code too.
 */

export interface DenoFile {
  write(data: Uint8Array): Promise<number>;
  sync(): Promise<void>;
  close(): void;
}

export interface DenoFileInfo {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  /** Permission bits and file type on Unix; null on Windows. */
  mode: number | null;
}

export interface DenoDirEntry {
  name: string;
  isFile: boolean;
}

export interface DenoOpenOptions {
  read?: boolean;
  write?: boolean;
  createNew?: boolean;
  mode?: number;
}

export interface DenoFs {
  readonly pid: number;
  readonly build: { readonly os: string };
  readonly errors: {
    readonly NotFound: new (...args: never[]) => Error;
    readonly AlreadyExists: new (...args: never[]) => Error;
  };
  open(path: string, options: DenoOpenOptions): Promise<DenoFile>;
  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
  readDir(path: string): AsyncIterable<DenoDirEntry>;
  stat(path: string): Promise<DenoFileInfo>;
  mkdir(path: string, options: { recursive?: boolean; mode?: number }): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  link(oldPath: string, newPath: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/** Returns the `Deno` namespace; throws outside Deno. */
export function denoFs(): DenoFs {
  const deno = (globalThis as { Deno?: DenoFs }).Deno;
  if (deno === undefined) throw new Error("directory storage needs the Deno runtime");
  return deno;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof denoFs().errors.NotFound;
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof denoFs().errors.AlreadyExists;
}

/** Writes all of `data` to a new file at `path` (mode 0600, failing if it exists) and fsyncs it. */
export async function writeNewFile(path: string, data: Uint8Array): Promise<void> {
  const file = await denoFs().open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    let written = 0;
    while (written < data.length) written += await file.write(data.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}

/** Flushes a directory's entries (renames, creations, removals) to disk. */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await denoFs().open(path, { read: true });
  try {
    await directory.sync();
  } finally {
    directory.close();
  }
}

/** Removes `path`; returns false when it did not exist. */
export async function removeIfExists(path: string): Promise<boolean> {
  try {
    await denoFs().remove(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Returns 8 random bytes as 16 hex digits, for temporary file names. */
export function randomSuffix(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
