/**
 * A minimal PKCS#11 (Cryptoki) client, called through Deno's FFI.
 *
 * The module is entered the standard way: `C_GetFunctionList` returns a CK_FUNCTION_LIST, a
 * CK_VERSION (padded to 8 bytes) followed by one function pointer per Cryptoki function in the
 * order of the v2.40 header. On 64-bit Linux CK_ULONG is 64 bits wide, so CK_ATTRIBUTE and
 * CK_MECHANISM are both three 8-byte words: type, pointer, length.
 */

import {
  addressOf,
  denoFfi,
  openLibrary,
  readPointer,
  toNumber,
  type DynamicLibrary,
  type ForeignFunction,
  type NativeArgument,
  type NativeFunction,
  WordArray,
} from "./deno-ffi.ts";
import { CKF, CKR_OK, CKR_USER_ALREADY_LOGGED_IN, returnValueName } from "./pkcs11-constants.ts";

/** Positions in CK_FUNCTION_LIST after the version field, with the C signature of each function. */
const FUNCTIONS: Record<string, { index: number; definition: ForeignFunction }> = {
  C_Initialize: { index: 0, definition: { parameters: ["pointer"], result: "u64" } },
  C_Finalize: { index: 1, definition: { parameters: ["pointer"], result: "u64" } },
  C_GetSlotList: { index: 4, definition: { parameters: ["u8", "buffer", "buffer"], result: "u64" } },
  C_GetSlotInfo: { index: 5, definition: { parameters: ["u64", "buffer"], result: "u64" } },
  C_GetTokenInfo: { index: 6, definition: { parameters: ["u64", "buffer"], result: "u64" } },
  C_OpenSession: {
    index: 12,
    definition: { parameters: ["u64", "u64", "pointer", "pointer", "buffer"], result: "u64" },
  },
  C_CloseSession: { index: 13, definition: { parameters: ["u64"], result: "u64" } },
  C_Login: { index: 18, definition: { parameters: ["u64", "u64", "buffer", "u64"], result: "u64" } },
  C_Logout: { index: 19, definition: { parameters: ["u64"], result: "u64" } },
  C_DestroyObject: { index: 22, definition: { parameters: ["u64", "u64"], result: "u64" } },
  C_GetAttributeValue: {
    index: 24,
    definition: { parameters: ["u64", "u64", "buffer", "u64"], result: "u64" },
  },
  C_SignInit: { index: 42, definition: { parameters: ["u64", "buffer", "u64"], result: "u64" } },
  C_Sign: {
    index: 43,
    definition: { parameters: ["u64", "buffer", "u64", "buffer", "buffer"], result: "u64" },
  },
  C_GenerateKeyPair: {
    index: 59,
    definition: {
      parameters: ["u64", "buffer", "buffer", "u64", "buffer", "u64", "buffer", "buffer"],
      result: "u64",
    },
  },
};

/** Offset of the first function pointer in CK_FUNCTION_LIST (CK_VERSION padded to 8 bytes). */
const FUNCTION_LIST_HEADER = 8;

/**
 * Sizes and offsets of the info structures in the 64-bit Linux layout. CK_SLOT_INFO: description
 * (64) and manufacturer (32), flags (8), two CK_VERSIONs (4), padded to 112. CK_TOKEN_INFO: four
 * strings (96), flags and ten counters (88), two CK_VERSIONs (4) and utcTime (16), padded to 208.
 */
const SLOT_INFO_SIZE = 112;
const SLOT_DESCRIPTION_LENGTH = 64;
const TOKEN_INFO_SIZE = 208;
const TOKEN_LABEL_LENGTH = 32;
const TOKEN_FLAGS_OFFSET = 96;

/** Large enough for an RSA-4096 signature or a P-521 ECDSA signature. */
const MAX_SIGNATURE_LENGTH = 1024;

/** A PKCS#11 function that returned something other than CKR_OK. */
export class Pkcs11Error extends Error {
  readonly code: number;

  constructor(functionName: string, code: number) {
    super(`${functionName} failed: ${returnValueName(code)} (0x${code.toString(16).toUpperCase()})`);
    this.name = "Pkcs11Error";
    this.code = code;
  }
}

/** One attribute of a template: CK_BBOOL for booleans, CK_ULONG for numbers, bytes as they are. */
export interface Attribute {
  type: number;
  value: boolean | number | Uint8Array;
}

/** A slot with the token information the bench selects by. */
export interface SlotDescription {
  slot: number;
  description: string;
  tokenLabel: string;
  tokenInitialized: boolean;
}

/** A key pair as object handles. */
export interface KeyPairHandles {
  publicKey: number;
  privateKey: number;
}

/** A loaded PKCS#11 module. Call `initialize` first and `close` last. */
export class Pkcs11Module {
  readonly path: string;
  readonly #library: DynamicLibrary;
  readonly #functions: Record<string, NativeFunction>;

  private constructor(path: string, library: DynamicLibrary, functions: Record<string, NativeFunction>) {
    this.path = path;
    this.#library = library;
    this.#functions = functions;
  }

  /** Loads the module at `path` and binds its function list. */
  static load(path: string): Pkcs11Module {
    const library = openLibrary(path, {
      C_GetFunctionList: { parameters: ["buffer"], result: "u64" },
    });

    try {
      const listAddress = new WordArray(1);
      check("C_GetFunctionList", library.symbols.C_GetFunctionList(listAddress.bytes));
      const list = denoFfi().UnsafePointer.create(listAddress.get(0));
      if (list === null) throw new Error(`${path}: C_GetFunctionList returned a null function list`);

      const functions: Record<string, NativeFunction> = {};
      for (const [name, { index, definition }] of Object.entries(FUNCTIONS)) {
        const pointer = readPointer(list, FUNCTION_LIST_HEADER + 8 * index);
        if (pointer === null) throw new Error(`${path}: ${name} is missing from the function list`);
        const bound = new (denoFfi().UnsafeFnPointer)(pointer, definition);
        functions[name] = (...args: NativeArgument[]) => bound.call(...args);
      }
      return new Pkcs11Module(path, library, functions);
    } catch (error) {
      library.close();
      throw error;
    }
  }

  /** Calls C_Initialize without arguments (the module may assume a single thread). */
  initialize(): void {
    this.#call("C_Initialize", null);
  }

  /** Calls C_Finalize and unloads the library, even when C_Finalize fails. */
  close(): void {
    try {
      this.#call("C_Finalize", null);
    } finally {
      this.#library.close();
    }
  }

  /** Lists the slots that have a token, with each slot's description and token label. */
  slotsWithToken(): SlotDescription[] {
    const count = new WordArray(1);
    this.#call("C_GetSlotList", 1, null, count.bytes);
    const slots = new WordArray(count.getNumber(0));
    this.#call("C_GetSlotList", 1, slots.bytes, count.bytes);

    return Array.from({ length: count.getNumber(0) }, (_, index) => {
      const slot = slots.get(index);
      const slotInfo = new Uint8Array(SLOT_INFO_SIZE);
      this.#call("C_GetSlotInfo", slot, slotInfo);
      const tokenInfo = new Uint8Array(TOKEN_INFO_SIZE);
      this.#call("C_GetTokenInfo", slot, tokenInfo);
      const flags = new DataView(tokenInfo.buffer).getBigUint64(TOKEN_FLAGS_OFFSET, true);

      return {
        slot: Number(slot),
        description: blankPadded(slotInfo.subarray(0, SLOT_DESCRIPTION_LENGTH)),
        tokenLabel: blankPadded(tokenInfo.subarray(0, TOKEN_LABEL_LENGTH)),
        tokenInitialized: (flags & BigInt(CKF.TOKEN_INITIALIZED)) !== 0n,
      };
    });
  }

  /** Opens a read/write session on `slot` and returns its handle. */
  openSession(slot: number): number {
    const session = new WordArray(1);
    this.#call("C_OpenSession", slot, CKF.SERIAL_SESSION | CKF.RW_SESSION, null, null, session.bytes);
    return session.getNumber(0);
  }

  closeSession(session: number): void {
    this.#call("C_CloseSession", session);
  }

  /** Logs `userType` in; a user already logged in (by another session of the token) is accepted. */
  login(session: number, userType: number, pin: string): void {
    const pinBytes = new TextEncoder().encode(pin);
    const code = toNumber(this.#functions.C_Login(session, userType, pinBytes, pinBytes.length));
    pinBytes.fill(0);
    if (code !== CKR_OK && code !== CKR_USER_ALREADY_LOGGED_IN) throw new Pkcs11Error("C_Login", code);
  }

  logout(session: number): void {
    this.#call("C_Logout", session);
  }

  /** Generates a key pair with a mechanism that takes no parameter. */
  generateKeyPair(
    session: number,
    mechanism: number,
    publicTemplate: Attribute[],
    privateTemplate: Attribute[],
  ): KeyPairHandles {
    const publicAttributes = encodeTemplate(publicTemplate);
    const privateAttributes = encodeTemplate(privateTemplate);
    const publicKey = new WordArray(1);
    const privateKey = new WordArray(1);

    this.#call(
      "C_GenerateKeyPair",
      session,
      encodeMechanism(mechanism).bytes,
      publicAttributes.template.bytes,
      publicTemplate.length,
      privateAttributes.template.bytes,
      privateTemplate.length,
      publicKey.bytes,
      privateKey.bytes,
    );
    return { publicKey: publicKey.getNumber(0), privateKey: privateKey.getNumber(0) };
  }

  /** Reads one attribute value as bytes. */
  getAttribute(session: number, object: number, type: number): Uint8Array<ArrayBuffer> {
    const query = WordArray.of(type, 0, 0);
    this.#call("C_GetAttributeValue", session, object, query.bytes, 1);

    const value = new Uint8Array(query.getNumber(2));
    const read = WordArray.of(type, addressOf(value), value.length);
    this.#call("C_GetAttributeValue", session, object, read.bytes, 1);
    return value.subarray(0, read.getNumber(2));
  }

  destroyObject(session: number, object: number): void {
    this.#call("C_DestroyObject", session, object);
  }

  /**
   * Returns a function that signs `data` with `privateKey` (C_SignInit then C_Sign) and returns
   * the signature length. Its buffers are allocated once, so the loop that calls it measures the
   * module rather than the allocator. The last signature stays readable through `lastSignature`.
   */
  signer(session: number, mechanism: number, privateKey: number, data: Uint8Array): Signer {
    const mechanismStructure = encodeMechanism(mechanism).bytes;
    const signature = new Uint8Array(MAX_SIGNATURE_LENGTH);
    const signatureLength = new WordArray(1);
    const signInit = this.#functions.C_SignInit;
    const sign = this.#functions.C_Sign;

    return {
      sign: () => {
        const initCode = toNumber(signInit(session, mechanismStructure, privateKey));
        if (initCode !== CKR_OK) throw new Pkcs11Error("C_SignInit", initCode);

        signatureLength.set(0, MAX_SIGNATURE_LENGTH);
        const signCode = toNumber(sign(session, data, data.length, signature, signatureLength.bytes));
        if (signCode !== CKR_OK) throw new Pkcs11Error("C_Sign", signCode);
        return signatureLength.getNumber(0);
      },
      lastSignature: () => signature.slice(0, signatureLength.getNumber(0)),
    };
  }

  #call(name: string, ...args: NativeArgument[]): void {
    check(name, this.#functions[name](...args));
  }
}

/** A prepared signing operation; see `Pkcs11Module.signer`. */
export interface Signer {
  sign(): number;
  lastSignature(): Uint8Array<ArrayBuffer>;
}

function check(functionName: string, result: unknown): void {
  const code = toNumber(result as number | bigint);
  if (code !== CKR_OK) throw new Pkcs11Error(functionName, code);
}

/** Builds a CK_MECHANISM without parameter. */
function encodeMechanism(mechanism: number): WordArray {
  return WordArray.of(mechanism, 0, 0);
}

/**
 * Builds a CK_ATTRIBUTE array. The value buffers are returned with it because the array holds
 * only their addresses: the caller keeps the result alive until the PKCS#11 call returns.
 */
function encodeTemplate(attributes: Attribute[]): { template: WordArray; values: Uint8Array[] } {
  const template = new WordArray(3 * attributes.length);
  const values = attributes.map((attribute) => encodeAttributeValue(attribute.value));

  attributes.forEach((attribute, index) => {
    template.set(3 * index, attribute.type);
    template.set(3 * index + 1, addressOf(values[index]));
    template.set(3 * index + 2, values[index].length);
  });
  return { template, values };
}

function encodeAttributeValue(value: Attribute["value"]): Uint8Array {
  if (typeof value === "boolean") return Uint8Array.of(value ? 1 : 0);
  if (typeof value === "number") {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
    return bytes;
  }
  return value;
}

/** Decodes a fixed-length, blank-padded PKCS#11 string (UTF-8). */
function blankPadded(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).replace(/[ \0]+$/, "");
}
