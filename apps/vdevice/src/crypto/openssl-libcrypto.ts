/**
 * Bindings to OpenSSL 3's libcrypto through Deno's FFI (`Deno.dlopen`), limited to the EVP
 * functions the RSA engine calls (`openssl-rsa.ts`).
 *
 * Every function bound here is exported by libcrypto.so.3 from OpenSSL 3.0 on, including the
 * EVP_PKEY_CTX_set_rsa_* and EVP_PKEY_CTX_set_signature_md setters, which OpenSSL 1.1 headers
 * defined as macros over EVP_PKEY_CTX_ctrl.
 */

/** A C pointer as Deno's FFI returns it: an opaque object, or null for NULL. */
export type Pointer = object | null;

/** The subset of Deno's FFI that this module uses, typed here so that tsc needs no Deno types. */
interface DenoFfi {
  build: { os: string };
  permissions: { querySync(descriptor: { name: "ffi" }): { state: string } };
  dlopen(path: string, symbols: Record<string, ForeignFunction>): { symbols: unknown; close(): void };
  UnsafePointer: {
    of(view: ArrayBufferView<ArrayBuffer>): Pointer;
    value(pointer: Pointer): number | bigint;
    create(value: bigint): Pointer;
  };
}

type NativeType = "void" | "i32" | "u32" | "i64" | "u64" | "usize" | "pointer" | "buffer";

interface ForeignFunction {
  name?: string;
  parameters: NativeType[];
  result: NativeType;
  nonblocking?: boolean;
}

/** The EVP_PKEY key type of RSA (NID_rsaEncryption). */
export const EVP_PKEY_RSA = 6;

/** Padding modes of EVP_PKEY_CTX_set_rsa_padding. */
export const RSA_PKCS1_PADDING = 1;
export const RSA_NO_PADDING = 3;
export const RSA_PKCS1_OAEP_PADDING = 4;
export const RSA_PKCS1_PSS_PADDING = 6;

/** Oldest libcrypto accepted, as OpenSSL_version_num() reports it (0xMNN00PP0). */
const MIN_VERSION = 0x3000_0000;

const SYMBOLS = {
  OpenSSL_version_num: { parameters: [], result: "u64" },
  ERR_get_error: { parameters: [], result: "u64" },
  ERR_error_string_n: { parameters: ["u64", "buffer", "usize"], result: "void" },
  ERR_clear_error: { parameters: [], result: "void" },

  d2i_PrivateKey: { parameters: ["i32", "pointer", "buffer", "i64"], result: "pointer" },
  i2d_PrivateKey: { parameters: ["pointer", "buffer"], result: "i32" },
  EVP_PKEY_get_base_id: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  EVP_MD_fetch: { parameters: ["pointer", "buffer", "pointer"], result: "pointer" },

  EVP_PKEY_CTX_new: { parameters: ["pointer", "pointer"], result: "pointer" },
  EVP_PKEY_CTX_new_id: { parameters: ["i32", "pointer"], result: "pointer" },
  EVP_PKEY_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_CTX_set_params: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_padding: { parameters: ["pointer", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_signature_md: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_mgf1_md: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_pss_saltlen: { parameters: ["pointer", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_oaep_md: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_keygen_bits: { parameters: ["pointer", "i32"], result: "i32" },

  EVP_PKEY_sign_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_sign: { parameters: ["pointer", "buffer", "buffer", "buffer", "usize"], result: "i32" },
  EVP_PKEY_decrypt_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_decrypt: { parameters: ["pointer", "buffer", "buffer", "buffer", "usize"], result: "i32" },
  EVP_PKEY_keygen_init: { parameters: ["pointer"], result: "i32" },
  // Runs on a Deno worker thread and returns a Promise, so that key generation does not block I/O.
  EVP_PKEY_keygen: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },

  OSSL_PARAM_BLD_new: { parameters: [], result: "pointer" },
  OSSL_PARAM_BLD_push_uint: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  OSSL_PARAM_BLD_to_param: { parameters: ["pointer"], result: "pointer" },
  OSSL_PARAM_BLD_free: { parameters: ["pointer"], result: "void" },
} satisfies Record<string, ForeignFunction>;

type Bytes = Uint8Array<ArrayBuffer>;

/** The bound functions, with the C signatures of OpenSSL 3.0 (`int` results are 1 on success). */
export interface LibcryptoSymbols {
  OpenSSL_version_num(): number | bigint;
  ERR_get_error(): number | bigint;
  ERR_error_string_n(error: number | bigint, buffer: Bytes, length: bigint): void;
  ERR_clear_error(): void;

  /** `EVP_PKEY *d2i_PrivateKey(int type, EVP_PKEY **a, const unsigned char **pp, long length)`. */
  d2i_PrivateKey(type: number, reuse: null, cursor: BigUint64Array<ArrayBuffer>, length: bigint): Pointer;
  /** `int i2d_PrivateKey(const EVP_PKEY *a, unsigned char **pp)`: the DER length, or ≤ 0 on error. */
  i2d_PrivateKey(pkey: Pointer, cursor: BigUint64Array<ArrayBuffer> | null): number;
  EVP_PKEY_get_base_id(pkey: Pointer): number;
  EVP_PKEY_free(pkey: Pointer): void;
  EVP_MD_fetch(libraryContext: null, algorithm: Bytes, properties: null): Pointer;

  EVP_PKEY_CTX_new(pkey: Pointer, engine: null): Pointer;
  EVP_PKEY_CTX_new_id(type: number, engine: null): Pointer;
  EVP_PKEY_CTX_free(context: Pointer): void;
  EVP_PKEY_CTX_set_params(context: Pointer, params: Pointer): number;
  EVP_PKEY_CTX_set_rsa_padding(context: Pointer, padding: number): number;
  EVP_PKEY_CTX_set_signature_md(context: Pointer, md: Pointer): number;
  EVP_PKEY_CTX_set_rsa_mgf1_md(context: Pointer, md: Pointer): number;
  EVP_PKEY_CTX_set_rsa_pss_saltlen(context: Pointer, saltLength: number): number;
  EVP_PKEY_CTX_set_rsa_oaep_md(context: Pointer, md: Pointer): number;
  EVP_PKEY_CTX_set_rsa_keygen_bits(context: Pointer, bits: number): number;

  EVP_PKEY_sign_init(context: Pointer): number;
  EVP_PKEY_sign(context: Pointer, out: Bytes | null, outLength: BigUint64Array<ArrayBuffer>, input: Bytes, inputLength: bigint): number;
  EVP_PKEY_decrypt_init(context: Pointer): number;
  EVP_PKEY_decrypt(context: Pointer, out: Bytes | null, outLength: BigUint64Array<ArrayBuffer>, input: Bytes, inputLength: bigint): number;
  EVP_PKEY_keygen_init(context: Pointer): number;
  EVP_PKEY_keygen(context: Pointer, out: BigUint64Array<ArrayBuffer>): Promise<number>;

  OSSL_PARAM_BLD_new(): Pointer;
  OSSL_PARAM_BLD_push_uint(builder: Pointer, key: Bytes, value: number): number;
  OSSL_PARAM_BLD_to_param(builder: Pointer): Pointer;
  OSSL_PARAM_BLD_free(builder: Pointer): void;
}

/** An opened libcrypto: its functions, its version and the pointer helpers of Deno's FFI. */
export interface Libcrypto {
  readonly symbols: LibcryptoSymbols;

  /** The library's version as "major.minor.patch". */
  readonly version: string;

  /** Returns the address of `view`'s first byte, for C arguments of type `unsigned char **`. */
  addressOf(view: ArrayBufferView<ArrayBuffer>): bigint;

  /** Returns the pointer stored at a C address, such as an `EVP_PKEY *` written by EVP_PKEY_keygen. */
  pointerAt(address: bigint): Pointer;

  /** Drains OpenSSL's thread error queue and returns its entries as one line ("" when empty). */
  takeErrors(): string;
}

/** Default file name; the dynamic loader finds it in the system library path (Debian package libssl3). */
export const LIBCRYPTO_PATH = "libcrypto.so.3";

/**
 * Opens libcrypto from `path`. Throws an Error that names the reason when this runtime cannot: not Deno,
 * not Linux, FFI permission missing (`--allow-ffi`), library not found, or an OpenSSL before 3.0.
 * The permission is queried first so that Deno never prompts for it.
 */
export function openLibcrypto(path: string = LIBCRYPTO_PATH): Libcrypto {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (deno === undefined) throw new Error("libcrypto needs Deno's FFI, and this runtime is not Deno");
  if (deno.build.os !== "linux") throw new Error(`libcrypto is loaded on Linux only, this is ${deno.build.os}`);
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new Error("FFI permission is not granted: start Deno with --allow-ffi");
  }

  let library: { symbols: unknown; close(): void };
  try {
    library = deno.dlopen(path, SYMBOLS);
  } catch (error) {
    throw new Error(`cannot load ${path}: ${(error as Error).message}`);
  }

  const symbols = library.symbols as LibcryptoSymbols;
  const versionNumber = Number(symbols.OpenSSL_version_num());
  if (versionNumber < MIN_VERSION) {
    library.close();
    throw new Error(`${path} reports version number 0x${versionNumber.toString(16)}, and the RSA engine needs OpenSSL 3.0 or later`);
  }

  const errorText = new Uint8Array(256);
  return {
    symbols,
    version: formatVersion(versionNumber),
    addressOf: (view) => BigInt(deno.UnsafePointer.value(deno.UnsafePointer.of(view))),
    pointerAt: (address) => deno.UnsafePointer.create(address),
    takeErrors: () => takeErrors(symbols, errorText),
  };
}

function takeErrors(symbols: LibcryptoSymbols, text: Bytes): string {
  const messages: string[] = [];
  for (let error = symbols.ERR_get_error(); BigInt(error) !== 0n; error = symbols.ERR_get_error()) {
    symbols.ERR_error_string_n(error, text, BigInt(text.length));
    const end = text.indexOf(0);
    messages.push(new TextDecoder().decode(text.subarray(0, end < 0 ? text.length : end)));
  }
  return messages.join("; ");
}

/** Formats 0xMNN00PP0, the OpenSSL 3 version number, as "M.NN.PP". */
function formatVersion(value: number): string {
  const major = Math.floor(value / 0x1000_0000);
  const minor = Math.floor(value / 0x10_0000) % 0x100;
  const patch = Math.floor(value / 0x10) % 0x100;
  return `${major}.${minor}.${patch}`;
}
