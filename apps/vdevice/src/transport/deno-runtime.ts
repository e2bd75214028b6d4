/**
 * The few Deno APIs the transport uses, typed here so that the repository's `tsc`
 * (which has Node types only) checks this code too. `deno` is undefined outside Deno.
 */

export type FfiType = "i32" | "u32" | "u64" | "isize" | "usize" | "buffer" | "pointer" | "void";

export interface FfiSymbol {
  parameters: readonly FfiType[];
  result: FfiType;
  nonblocking?: boolean;
}

export interface DynamicLibrary {
  // The symbol signatures are checked where they are declared (libc-socket.ts).
  // deno-lint-ignore no-explicit-any
  symbols: Record<string, (...args: any[]) => any>;
  close(): void;
}

export interface PointerView {
  getInt32(offset?: number): number;
}

export interface DenoTcpConnection {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  setNoDelay(noDelay?: boolean): void;
  close(): void;
}

export interface DenoRuntime {
  readonly build: { readonly os: string };
  readonly permissions: {
    querySync(descriptor: { name: "ffi" | "net" }): { readonly state: "granted" | "denied" | "prompt" };
  };
  readonly errors: {
    readonly ConnectionRefused: new (...args: never[]) => Error;
    readonly TimedOut: new (...args: never[]) => Error;
  };
  dlopen(path: string, symbols: Record<string, FfiSymbol>): DynamicLibrary;
  UnsafePointerView: new (pointer: object) => PointerView;
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoTcpConnection>;
}

/** The `Deno` namespace, or undefined when running on another runtime. */
export const deno: DenoRuntime | undefined = (globalThis as { Deno?: DenoRuntime }).Deno;
