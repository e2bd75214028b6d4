/**
 * Liveness of another process by pid, for the data directory's lock file.
 *
 * Deno lets a program read /proc/<pid> only with --allow-all, so on Linux the
 * check calls kill(pid, 0) from libc through FFI, which the device already may
 * use: 0 or EPERM means the process exists, ESRCH means it does not.
 */
import { deno, type DynamicLibrary, type FfiSymbol } from "../transport/deno-runtime.ts";

const EPERM = 1;
const ESRCH = 3;

const SYMBOLS = {
  kill: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} satisfies Record<string, FfiSymbol>;

let library: DynamicLibrary | null | undefined;

/**
 * Returns whether process `pid` exists, or undefined when this process cannot
 * tell (not Linux, no FFI permission, libc not loadable).
 */
export function processExists(pid: number): boolean | undefined {
  const libc = loadLibc();
  if (!libc || !deno) return undefined;

  if (libc.symbols.kill(pid, 0) === 0) return true;

  // errno is thread-local; synchronous FFI calls run on the main thread.
  const errno = new deno.UnsafePointerView(libc.symbols.__errno_location()).getInt32(0);
  if (errno === EPERM) return true;
  if (errno === ESRCH) return false;
  return undefined;
}

function loadLibc(): DynamicLibrary | null {
  if (library !== undefined) return library;

  library = null;
  if (!deno || deno.build.os !== "linux") return library;
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") return library;

  try {
    library = deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    library = null;
  }
  return library;
}
