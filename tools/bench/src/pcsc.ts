/**
 * A minimal PC/SC client on pcsc-lite's libpcsclite.so.1, called through Deno's FFI.
 *
 * On Linux pcsc-lite, DWORD is `unsigned long` and LONG, SCARDCONTEXT and SCARDHANDLE are
 * `long`, so all of them are 64 bits wide on 64-bit systems.
 */

import { denoFfi, openLibrary, toNumber, WordArray, type DynamicLibrary, type Pointer } from "./deno-ffi.ts";

const PCSC_LIBRARY = "libpcsclite.so.1";

const SCARD_S_SUCCESS = 0;
const SCARD_SCOPE_SYSTEM = 2;
const SCARD_SHARE_SHARED = 2;
const SCARD_PROTOCOL_T0 = 1;
const SCARD_PROTOCOL_T1 = 2;
const SCARD_LEAVE_CARD = 0;

/** Result codes that mean "no card in this reader (yet)". */
const SCARD_E_NO_SMARTCARD = 0x8010000c;
const SCARD_W_REMOVED_CARD = 0x80100069;
const SCARD_E_NO_SERVICE = 0x8010001d;
const SCARD_E_NO_READERS_AVAILABLE = 0x8010002e;

/** Size of SCARD_IO_REQUEST: two `unsigned long` fields (protocol, structure length). */
const IO_REQUEST_SIZE = 16;

/** Large enough for a short APDU response with status word (256 + 2) and any extended one. */
const RECEIVE_BUFFER_SIZE = 65538;

/** A PC/SC call that returned an error code. */
export class PcscError extends Error {
  readonly code: number;

  constructor(functionName: string, code: number, description: string) {
    super(`${functionName} failed: ${description} (0x${code.toString(16).toUpperCase()})`);
    this.name = "PcscError";
    this.code = code;
  }
}

/** A PC/SC context with at most one connected card. */
export class PcscClient {
  readonly #library: DynamicLibrary;
  readonly #context: bigint;
  #card: bigint | undefined;
  #sendPci = new WordArray(2);
  #receiveBuffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  #receiveLength = new WordArray(1);

  private constructor(library: DynamicLibrary, context: bigint) {
    this.#library = library;
    this.#context = context;
  }

  /** Establishes a context with pcscd; a clear error when pcscd is not running. */
  static open(): PcscClient {
    const library = openLibrary(PCSC_LIBRARY, {
      SCardEstablishContext: { parameters: ["u64", "pointer", "pointer", "buffer"], result: "i64" },
      SCardReleaseContext: { parameters: ["i64"], result: "i64" },
      SCardListReaders: { parameters: ["i64", "pointer", "buffer", "buffer"], result: "i64" },
      SCardConnect: { parameters: ["i64", "buffer", "u64", "u64", "buffer", "buffer"], result: "i64" },
      SCardDisconnect: { parameters: ["i64", "u64"], result: "i64" },
      SCardTransmit: {
        parameters: ["i64", "buffer", "buffer", "u64", "pointer", "buffer", "buffer"],
        result: "i64",
      },
      pcsc_stringify_error: { parameters: ["i64"], result: "pointer" },
    });

    const context = new WordArray(1);
    const code = toNumber(library.symbols.SCardEstablishContext(SCARD_SCOPE_SYSTEM, null, null, context.bytes));
    if (code === SCARD_E_NO_SERVICE) {
      library.close();
      throw new Error("pcscd is not running: start it (tools/setup.sh does) and run the bench again");
    }
    if (code !== SCARD_S_SUCCESS) {
      const error = new PcscError("SCardEstablishContext", code, describe(library, code));
      library.close();
      throw error;
    }
    return new PcscClient(library, context.getSigned(0));
  }

  /** Lists the names of the readers pcscd reports; empty when there are none. */
  listReaders(): string[] {
    const length = new WordArray(1);
    let code = toNumber(this.#library.symbols.SCardListReaders(this.#context, null, null, length.bytes));
    if (code === SCARD_E_NO_READERS_AVAILABLE) return [];
    this.#check("SCardListReaders", code);

    const names = new Uint8Array(length.getNumber(0));
    code = toNumber(this.#library.symbols.SCardListReaders(this.#context, null, names, length.bytes));
    this.#check("SCardListReaders", code);

    // A multi-string: names separated by NUL, ended by an empty name.
    return new TextDecoder()
      .decode(names.subarray(0, length.getNumber(0)))
      .split("\0")
      .filter((name) => name.length > 0);
  }

  /**
   * Connects to the card in `reader` (shared mode, T=0 or T=1).
   * Returns false when the reader has no card; throws on any other error.
   */
  tryConnect(reader: string): boolean {
    if (this.#card !== undefined) throw new Error("a card is already connected: disconnect it first");

    const handle = new WordArray(1);
    const protocol = new WordArray(1);
    const name = new TextEncoder().encode(`${reader}\0`);
    const code = toNumber(
      this.#library.symbols.SCardConnect(
        this.#context,
        name,
        SCARD_SHARE_SHARED,
        SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
        handle.bytes,
        protocol.bytes,
      ),
    );
    if (code === SCARD_E_NO_SMARTCARD || code === SCARD_W_REMOVED_CARD) return false;
    this.#check(`SCardConnect to "${reader}"`, code);

    this.#card = handle.getSigned(0);
    this.#sendPci.set(0, protocol.get(0));
    this.#sendPci.set(1, IO_REQUEST_SIZE);
    return true;
  }

  /**
   * Sends one command APDU and returns its response, status word included.
   * The returned array is a view of an internal buffer that the next call overwrites.
   */
  transmit(command: Uint8Array): Uint8Array {
    if (this.#card === undefined) throw new Error("no card connected: call tryConnect first");

    this.#receiveLength.set(0, RECEIVE_BUFFER_SIZE);
    const code = toNumber(
      this.#library.symbols.SCardTransmit(
        this.#card,
        this.#sendPci.bytes,
        command,
        command.length,
        null,
        this.#receiveBuffer,
        this.#receiveLength.bytes,
      ),
    );
    this.#check("SCardTransmit", code);
    return this.#receiveBuffer.subarray(0, this.#receiveLength.getNumber(0));
  }

  /** Disconnects the card, leaving it powered. Does nothing when none is connected. */
  disconnect(): void {
    if (this.#card === undefined) return;
    const code = toNumber(this.#library.symbols.SCardDisconnect(this.#card, SCARD_LEAVE_CARD));
    this.#card = undefined;
    this.#check("SCardDisconnect", code);
  }

  /** Disconnects, releases the context and unloads the library. */
  close(): void {
    try {
      this.disconnect();
      this.#library.symbols.SCardReleaseContext(this.#context);
    } finally {
      this.#library.close();
    }
  }

  #check(functionName: string, code: number): void {
    if (code !== SCARD_S_SUCCESS) throw new PcscError(functionName, code, describe(this.#library, code));
  }
}

function describe(library: DynamicLibrary, code: number): string {
  const text = library.symbols.pcsc_stringify_error(code) as Pointer;
  if (text === null) return "unknown error";
  return new (denoFfi().UnsafePointerView)(text).getCString();
}
