/**
 * The subset of Deno's foreign function interface (FFI) that the bench uses.
 *
 * The bench runs on Deno, but the workspace type-checks with `tsc`, which has no Deno types.
 * These interfaces describe only what the callers need, so both checkers accept the code.
 */

/** A C type as Deno's FFI names it. `buffer` passes a typed array's memory as a pointer. */
export type NativeType = "u8" | "i64" | "u64" | "pointer" | "buffer" | "void";

/** The C signature of one foreign function. */
export interface ForeignFunction {
  parameters: NativeType[];
  result: NativeType;
}

/** An opaque C pointer; `null` is the null pointer. */
export type Pointer = object | null;

/** A value passed to a foreign function. */
export type NativeArgument = number | bigint | Pointer | ArrayBufferView;

/** A value returned by a foreign function: a number or bigint for integers, an object for pointers. */
export type NativeResult = number | bigint | Pointer | undefined;

/** A foreign function bound by `dlopen` or `UnsafeFnPointer`. */
export type NativeFunction = (...args: NativeArgument[]) => NativeResult;

/** A shared library opened with `dlopen`. */
export interface DynamicLibrary {
  symbols: Record<string, NativeFunction>;
  close(): void;
}

interface PointerView {
  getPointer(offset?: number): Pointer;
  getCString(offset?: number): string;
}

interface DenoFfi {
  dlopen(path: string, symbols: Record<string, ForeignFunction>): DynamicLibrary;
  UnsafePointer: {
    of(buffer: ArrayBufferView): Pointer;
    value(pointer: Pointer): number | bigint;
    create(address: bigint): Pointer;
  };
  UnsafePointerView: new (pointer: object) => PointerView;
  UnsafeFnPointer: new (pointer: object, definition: ForeignFunction) => { call: NativeFunction };
  version: { deno: string };
}

/** Returns Deno's FFI namespace, or throws when the bench is not running on Deno. */
export function denoFfi(): DenoFfi {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") {
    throw new Error("the bench needs Deno's FFI: run it with `npm run bench`, not with Node");
  }
  return deno;
}

/** Opens a shared library, naming the library in the error when the loader rejects it. */
export function openLibrary(path: string, symbols: Record<string, ForeignFunction>): DynamicLibrary {
  try {
    return denoFfi().dlopen(path, symbols);
  } catch (error) {
    throw new Error(`failed to load ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Returns the address of a typed array's memory, for storing inside a C structure. */
export function addressOf(buffer: ArrayBufferView): bigint {
  return BigInt(denoFfi().UnsafePointer.value(denoFfi().UnsafePointer.of(buffer)));
}

/** Reads the pointer stored at `offset` bytes from `base`. */
export function readPointer(base: object, offset: number): Pointer {
  const view = new (denoFfi().UnsafePointerView)(base);
  return view.getPointer(offset);
}

/** Converts a C integer result (`long`, `unsigned long`) to a number. */
export function toNumber(result: NativeResult): number {
  if (typeof result === "number") return result;
  if (typeof result === "bigint") return Number(result);
  throw new TypeError(`expected an integer from a foreign function, got ${typeof result}`);
}

/**
 * An array of 64-bit C integers (`unsigned long`, `long`, pointers) in a Uint8Array, for
 * structures and output parameters. Deno's fast FFI calls read a `buffer` argument as a
 * Uint8Array, so the bench passes no other typed array to native code.
 */
export class WordArray {
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(length: number) {
    this.bytes = new Uint8Array(8 * length);
    this.#view = new DataView(this.bytes.buffer);
  }

  static of(...values: (number | bigint)[]): WordArray {
    const words = new WordArray(values.length);
    values.forEach((value, index) => words.set(index, value));
    return words;
  }

  get length(): number {
    return this.bytes.length / 8;
  }

  /** Reads word `index` as unsigned. */
  get(index: number): bigint {
    return this.#view.getBigUint64(8 * index, true);
  }

  /** Reads word `index` as signed (a C `long`). */
  getSigned(index: number): bigint {
    return this.#view.getBigInt64(8 * index, true);
  }

  /** Reads word `index` as an unsigned number; the values the bench reads stay below 2^53. */
  getNumber(index: number): number {
    return Number(this.get(index));
  }

  set(index: number, value: number | bigint): void {
    this.#view.setBigUint64(8 * index, BigInt.asUintN(64, BigInt(value)), true);
  }
}
