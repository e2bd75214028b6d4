/**
 * The SmartCard-HSM key blob: a private or secret key wrapped under a DKEK, as
 * WRAP KEY (INS 72) returns it and UNWRAP KEY (INS 74) takes it.
 *
 *   KCV [8] ‖ key type [1] ‖ algorithm OID [2+L] ‖ allowed algorithms [2+L] ‖
 *   access conditions [2+L] ‖ key OID [2+L] ‖ encrypted body [16·k] ‖ CMAC [16]
 *
 * Lengths are 2-byte big-endian. The body is AES-256-CBC under Kenc with a zero
 * IV and no padding mode; before encryption it is
 *
 *   random [8] ‖ key size [2] ‖ components ‖ pad
 *
 * where each component is `length [2] ‖ bytes` (AES keys: the raw key without a
 * length), and pad is 80 00 … up to the next multiple of 16, or nothing when
 * the length already is one. The CMAC is AES-256-CMAC under Kmac over every
 * byte before it. Access conditions and key OID are written empty and skipped
 * on input.
 */

import { cbc, cmac } from "@noble/ciphers/aes.js";

import { concatBytes, constantTimeEqual, wipe } from "./bytes.ts";
import { deriveBlobKeys, dkekKcv, KCV_LENGTH } from "./dkek.ts";

/** Key type byte of a blob. */
export const KEY_BLOB_TYPE = {
  /** RSA as d, n, e. */
  RSA: 0x05,
  /** RSA with CRT parameters: dP, dQ, p, qInv, q, n, e (decoded, never produced). */
  RSA_CRT: 0x06,
  /** EC as domain parameters A, B, P, N, G, then d and Q. */
  EC: 0x0c,
  /** AES, raw key bytes. */
  AES: 0x0f,
} as const;

/** Algorithm OIDs (DER content bytes) of each key type. */
export const KEY_BLOB_OID = {
  /** id-TA-RSA-v1-5-SHA-256, 0.4.0.127.0.7.2.2.2.1.2 (BSI TR-03110). */
  RSA: new Uint8Array([0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02]),
  /** id-TA-ECDSA-SHA-256, 0.4.0.127.0.7.2.2.2.2.3 (BSI TR-03110). */
  EC: new Uint8Array([0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03]),
  /** aes, 2.16.840.1.101.3.4.1 (NIST). */
  AES: new Uint8Array([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01]),
} as const;

/** AES key lengths a blob may carry, bytes (64 = an AES-256-XTS key pair). */
export const AES_KEY_LENGTHS: readonly number[] = [16, 24, 32, 64];

const RANDOM_LENGTH = 8;
const BLOCK = 16;
const MAC_LENGTH = 16;
/** Smallest blob: KCV, type, four empty length-prefixed fields, one body block and the CMAC. */
const MIN_BLOB_LENGTH = KCV_LENGTH + 1 + 4 * 2 + BLOCK + MAC_LENGTH;

/** Integers are big-endian bytes; encoders drop leading zero bytes. */
export type KeyBlobKey =
  | { type: "rsa"; n: Uint8Array; e: Uint8Array; d: Uint8Array }
  | { type: "rsa-crt"; n: Uint8Array; e: Uint8Array; p: Uint8Array; q: Uint8Array; dp: Uint8Array; dq: Uint8Array; qi: Uint8Array }
  | {
      type: "ec";
      /** Field size in bits: 8 × byte length of the field prime. */
      fieldBits: number;
      a: Uint8Array;
      b: Uint8Array;
      p: Uint8Array;
      /** Group order. */
      n: Uint8Array;
      /** Base point, uncompressed 04 ‖ x ‖ y. */
      g: Uint8Array;
      d: Uint8Array;
      /** Public point, uncompressed; may be empty in a decoded blob. */
      q: Uint8Array;
    }
  | { type: "aes"; key: Uint8Array };

export interface KeyBlob {
  kcv: Uint8Array;
  /** Allowed algorithm identifier bytes (the key's metadata tag 91); empty = unrestricted. */
  allowedAlgorithms: Uint8Array;
  key: KeyBlobKey;
}

export type KeyBlobErrorCode =
  /** Too short, a length field out of range, or an unknown key type. */
  | "format"
  | "unknown-type"
  /** The KCV does not name the DKEK given. */
  | "kcv-mismatch"
  /** The CMAC does not verify: altered bytes or another DKEK with the same KCV. */
  | "mac"
  /** The decrypted body does not parse, or the OID does not fit the key type. */
  | "content";

/** Thrown by decodeKeyBlob; `code` names the check that failed. */
export class KeyBlobError extends Error {
  constructor(
    readonly code: KeyBlobErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "KeyBlobError";
  }
}

export interface EncodeKeyBlobOptions {
  /** Allowed algorithm list; defaults to empty. */
  allowedAlgorithms?: Uint8Array;
  /** The 8 random bytes that open the body; defaults to crypto.getRandomValues. */
  random?: Uint8Array;
}

/** Wraps `key` under `dkek` into a key blob. */
export function encodeKeyBlob(dkek: Uint8Array, key: KeyBlobKey, options: EncodeKeyBlobOptions = {}): Uint8Array {
  const random = options.random ?? crypto.getRandomValues(new Uint8Array(RANDOM_LENGTH));
  if (random.length !== RANDOM_LENGTH) throw new RangeError(`random must be ${RANDOM_LENGTH} bytes, got ${random.length}`);

  const { typeByte, oid } = typeAndOid(key);
  const header = concatBytes(
    dkekKcv(dkek),
    new Uint8Array([typeByte]),
    lengthPrefixed(oid),
    lengthPrefixed(options.allowedAlgorithms ?? new Uint8Array(0)),
    lengthPrefixed(new Uint8Array(0)),
    lengthPrefixed(new Uint8Array(0)),
  );

  const plain = pad(concatBytes(random, encodeBody(key)));
  const keys = deriveBlobKeys(dkek);
  try {
    const body = cbc(keys.enc, new Uint8Array(BLOCK), { disablePadding: true }).encrypt(plain);
    const macInput = concatBytes(header, body);
    return concatBytes(macInput, cmac(macInput, keys.mac));
  } finally {
    wipe(plain, keys.enc, keys.mac);
  }
}

/** Returns the KCV a blob names (its first 8 bytes); throws "format" when too short. */
export function keyBlobKcv(blob: Uint8Array): Uint8Array {
  checkLength(blob);
  return blob.slice(0, KCV_LENGTH);
}

/** Returns the key type byte of a blob; throws "format" when too short and "unknown-type" for a type not in KEY_BLOB_TYPE. */
export function keyBlobType(blob: Uint8Array): number {
  checkLength(blob);
  const type = blob[KCV_LENGTH];
  if (!(Object.values(KEY_BLOB_TYPE) as number[]).includes(type)) {
    throw new KeyBlobError("unknown-type", `unknown key type ${hexByte(type)} in key blob (expected 05, 06, 0C or 0F)`);
  }
  return type;
}

/**
 * Unwraps a key blob with `dkek`. Checks, in order: length and key type, KCV,
 * CMAC, header lengths and OID, then decrypts and parses the body. Throws
 * KeyBlobError.
 */
export function decodeKeyBlob(dkek: Uint8Array, blob: Uint8Array): KeyBlob {
  const type = keyBlobType(blob);
  const kcv = keyBlobKcv(blob);
  if (!constantTimeEqual(kcv, dkekKcv(dkek))) throw new KeyBlobError("kcv-mismatch", `key blob KCV ${hex(kcv)} does not match the DKEK`);

  const keys = deriveBlobKeys(dkek);
  try {
    const macInput = blob.subarray(0, blob.length - MAC_LENGTH);
    if (!constantTimeEqual(cmac(macInput, keys.mac), blob.subarray(blob.length - MAC_LENGTH))) {
      throw new KeyBlobError("mac", "key blob CMAC does not verify: the blob was altered or wrapped under another DKEK");
    }

    const header = readHeader(macInput);
    checkOid(type, header.oid);
    const encrypted = macInput.subarray(header.length);
    if (encrypted.length === 0 || encrypted.length % BLOCK !== 0) {
      throw new KeyBlobError("format", `key blob body is ${encrypted.length} bytes, expected a non-zero multiple of ${BLOCK}`);
    }

    const plain = cbc(keys.enc, new Uint8Array(BLOCK), { disablePadding: true }).decrypt(encrypted);
    try {
      return { kcv, allowedAlgorithms: header.allowedAlgorithms, key: decodeBody(type, plain) };
    } finally {
      wipe(plain);
    }
  } finally {
    wipe(keys.enc, keys.mac);
  }
}

// --- header ------------------------------------------------------------------

function typeAndOid(key: KeyBlobKey): { typeByte: number; oid: Uint8Array } {
  switch (key.type) {
    case "rsa":
      return { typeByte: KEY_BLOB_TYPE.RSA, oid: KEY_BLOB_OID.RSA };
    case "rsa-crt":
      return { typeByte: KEY_BLOB_TYPE.RSA_CRT, oid: KEY_BLOB_OID.RSA };
    case "ec":
      return { typeByte: KEY_BLOB_TYPE.EC, oid: KEY_BLOB_OID.EC };
    case "aes":
      return { typeByte: KEY_BLOB_TYPE.AES, oid: KEY_BLOB_OID.AES };
  }
}

function readHeader(bytes: Uint8Array): { oid: Uint8Array; allowedAlgorithms: Uint8Array; length: number } {
  const reader = new FieldReader(bytes, KCV_LENGTH + 1, "format");
  const oid = reader.field("algorithm OID");
  const allowedAlgorithms = reader.field("allowed algorithms");
  reader.field("access conditions");
  reader.field("key OID");
  return { oid: oid.slice(), allowedAlgorithms: allowedAlgorithms.slice(), length: reader.offset };
}

function expectedOid(type: number): Uint8Array {
  if (type === KEY_BLOB_TYPE.EC) return KEY_BLOB_OID.EC;
  if (type === KEY_BLOB_TYPE.AES) return KEY_BLOB_OID.AES;
  return KEY_BLOB_OID.RSA;
}

function checkOid(type: number, oid: Uint8Array): void {
  const expected = expectedOid(type);
  if (!constantTimeEqual(oid, expected)) {
    throw new KeyBlobError("content", `key blob algorithm OID ${hex(oid)} does not fit key type ${hexByte(type)} (expected ${hex(expected)})`);
  }
}

// --- body --------------------------------------------------------------------

function encodeBody(key: KeyBlobKey): Uint8Array {
  switch (key.type) {
    case "rsa":
      return concatBytes(u16(bitLength(key.n)), ...[key.d, key.n, key.e].map(component));
    case "rsa-crt":
      return concatBytes(u16(bitLength(key.n)), ...[key.dp, key.dq, key.p, key.qi, key.q, key.n, key.e].map(component));
    case "ec":
      return concatBytes(u16(key.fieldBits), ...[key.a, key.b, key.p, key.n, key.g, key.d, key.q].map(component));
    case "aes":
      if (!AES_KEY_LENGTHS.includes(key.key.length)) throw new RangeError(`AES key must be 16, 24, 32 or 64 bytes, got ${key.key.length}`);
      return concatBytes(u16(key.key.length), key.key);
  }
}

function decodeBody(type: number, plain: Uint8Array): KeyBlobKey {
  const reader = new FieldReader(plain, RANDOM_LENGTH, "content");
  const keySize = reader.u16("key size");

  if (type === KEY_BLOB_TYPE.AES) {
    if (!AES_KEY_LENGTHS.includes(keySize)) throw new KeyBlobError("content", `AES key size ${keySize} bytes is not 16, 24, 32 or 64`);
    return { type: "aes", key: reader.take(keySize, "AES key").slice() };
  }

  if (type === KEY_BLOB_TYPE.RSA) {
    const [d, n, e] = reader.fields(["d", "n", "e"]);
    return { type: "rsa", d, n, e };
  }

  if (type === KEY_BLOB_TYPE.RSA_CRT) {
    const [dp, dq, p, qi, q, n, e] = reader.fields(["dP", "dQ", "p", "qInv", "q", "n", "e"]);
    return { type: "rsa-crt", dp, dq, p, qi, q, n, e };
  }

  const [a, b, p, n, g, d] = reader.fields(["A", "B", "P", "N", "G", "d"]);
  const q = reader.offset < plain.length ? reader.optionalField() : new Uint8Array(0);
  return { type: "ec", fieldBits: keySize, a, b, p, n, g, d, q };
}

function pad(bytes: Uint8Array): Uint8Array {
  if (bytes.length % BLOCK === 0) return bytes;
  const out = new Uint8Array(bytes.length + BLOCK - (bytes.length % BLOCK));
  out.set(bytes);
  out[bytes.length] = 0x80;
  return out;
}

/** Reads big-endian u16 lengths and length-prefixed fields; errors carry `code`. */
class FieldReader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
    private readonly code: KeyBlobErrorCode,
  ) {}

  take(length: number, fieldName: string): Uint8Array {
    if (this.offset + length > this.bytes.length) {
      throw new KeyBlobError(this.code, `key blob truncated in ${fieldName}: needs ${length} bytes, ${this.bytes.length - this.offset} left`);
    }
    const part = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return part;
  }

  u16(fieldName: string): number {
    const bytes = this.take(2, fieldName);
    return (bytes[0] << 8) | bytes[1];
  }

  field(fieldName: string): Uint8Array {
    return this.take(this.u16(`length of ${fieldName}`), fieldName);
  }

  fields(names: readonly string[]): Uint8Array[] {
    return names.map((name) => this.field(name).slice());
  }

  /** Reads a trailing field, or returns empty bytes when what follows is padding. */
  optionalField(): Uint8Array {
    const start = this.offset;
    try {
      return this.field("Q").slice();
    } catch {
      this.offset = start;
      return new Uint8Array(0);
    }
  }
}

// --- small helpers -----------------------------------------------------------

function component(value: Uint8Array): Uint8Array {
  return lengthPrefixed(stripLeadingZeros(value));
}

function lengthPrefixed(value: Uint8Array): Uint8Array {
  if (value.length > 0xffff) throw new RangeError(`key blob field too long: ${value.length} bytes`);
  return concatBytes(u16(value.length), value);
}

function stripLeadingZeros(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  return value.subarray(start);
}

function bitLength(value: Uint8Array): number {
  const bytes = stripLeadingZeros(value);
  if (bytes.length === 0 || bytes[0] === 0) return 0;
  return 8 * (bytes.length - 1) + (32 - Math.clz32(bytes[0]));
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

function checkLength(blob: Uint8Array): void {
  if (!(blob instanceof Uint8Array) || blob.length < MIN_BLOB_LENGTH) {
    throw new KeyBlobError("format", `key blob is ${blob instanceof Uint8Array ? blob.length : typeof blob} bytes, at least ${MIN_BLOB_LENGTH} expected`);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, hexByte).join("");
}

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
