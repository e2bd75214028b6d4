/**
 * PIN records: the scrypt parameters and salt, a verifier, the retry counter and
 * this PIN's sealed copy of the MKEK (master key-encryption key). The PIN itself
 * is never stored.
 *
 * Derivation, with kbase from root.ts and storeHash = SHA-256(storeId):
 *   stretched = scrypt(PIN, salt, N, r, p, 32)
 *   kver      = HMAC-SHA-256(kbase, stretched)
 *   verifier  = HKDF(storeHash, kver, "PIN/VERIFY")          stored
 *   token     = HKDF(storeHash, kver, "PIN/TOKEN")           never stored
 *   KEK       = HKDF(storeHash, kbase || token, "PIN/ENC2")  seals the MKEK copy
 * The HMAC under kbase means a copy of the data directory alone cannot be used
 * to test PIN guesses; with the device secret as well, each guess costs one
 * scrypt run.
 *
 * Layout (all integers big-endian):
 *   format [1] = 0x01 || max [1] || remaining [1] || PIN length [1] ||
 *   N [4] || r [4] || p [4] || salt [16] || verifier [32] ||
 *   MKEK copy: nonce [12] || AES-256-GCM(KEK, MKEK [32]) || tag [16] ||
 *   HMAC-SHA-256(pinRecordMacKey, name || all preceding bytes) [32]
 * The MAC covers the counters, so editing them is detected; the GCM associated
 * data binds the MKEK copy to the name, PIN length, scrypt parameters, salt
 * and verifier.
 */

import { gcm } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ByteReader, concatBytes, constantTimeEqual, lengthPrefixed, u32Bytes, utf8ToBytes, wipe } from "./bytes.ts";
import { KeystoreIntegrityError } from "./errors.ts";
import { deriveKey, type RootKeys } from "./root.ts";

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Default scrypt cost: 128 MiB of scratch memory and about 0.45 s per PIN check under Deno on a 2-core AMD EPYC VM (README, "Cost of one PIN guess"). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Upper bound on scrypt memory (128 · N · r bytes) accepted from options. */
const MAX_SCRYPT_MEMORY = 1024 ** 3;

export const MKEK_LENGTH = 32;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const MAC_LENGTH = 32;
const RECORD_FORMAT = 0x01;
const MKEK_AAD_LABEL = utf8ToBytes("hsmkit/keystore MKEK copy v1");

/** Decoded PIN record; byte fields are views into fresh copies. */
export interface PinRecord {
  max: number;
  remaining: number;
  pinLength: number;
  scrypt: ScryptParams;
  salt: Uint8Array;
  verifier: Uint8Array;
  /** nonce [12] || ciphertext [32] || tag [16] */
  sealedMkek: Uint8Array;
}

/** Keys derived from one PIN under one record's salt and parameters. */
interface PinKeys {
  verifier: Uint8Array;
  kek: Uint8Array;
}

/** Throws RangeError unless `params` are usable scrypt parameters within the memory bound. */
export function checkScryptParams(params: ScryptParams): void {
  const { N, r, p } = params;
  const isPowerOfTwo = Number.isInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > 2 ** 30) throw new RangeError(`scrypt N must be a power of two from 2 to 2^30, got ${N}`);
  if (!Number.isInteger(r) || r < 1 || r > 255) throw new RangeError(`scrypt r must be an integer from 1 to 255, got ${r}`);
  if (!Number.isInteger(p) || p < 1 || p > 255) throw new RangeError(`scrypt p must be an integer from 1 to 255, got ${p}`);
  if (128 * N * r > MAX_SCRYPT_MEMORY) {
    throw new RangeError(`scrypt N=${N}, r=${r} needs ${(128 * N * r) / 2 ** 20} MiB, more than the 1024 MiB limit`);
  }
}

/** Throws RangeError unless `pin` is 1..255 bytes (the record keeps its length in one byte). */
export function checkPin(pin: Uint8Array, what: string): void {
  if (!(pin instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array, got ${typeof pin}`);
  if (pin.length < 1 || pin.length > 255) throw new RangeError(`${what} must be 1 to 255 bytes, got ${pin.length}`);
}

/** Runs scrypt and derives the verifier and the KEK that seals this PIN's MKEK copy. */
async function derivePinKeys(root: RootKeys, pin: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<PinKeys> {
  const stretched = await scryptAsync(pin, salt, { ...params, dkLen: 32, maxmem: MAX_SCRYPT_MEMORY + 4096 });
  const kver = hmac(sha256, root.kbase, stretched);
  const verifier = deriveKey(root.storeHash, kver, "PIN/VERIFY");
  const token = deriveKey(root.storeHash, kver, "PIN/TOKEN");
  const ikm = concatBytes(root.kbase, token);
  const kek = deriveKey(root.storeHash, ikm, "PIN/ENC2");
  wipe(stretched, kver, token, ikm);
  return { verifier, kek };
}

/** Creates a record for `pin` that seals `mkek`, with a fresh salt and nonce. */
export async function createPinRecord(
  root: RootKeys,
  name: string,
  pin: Uint8Array,
  mkek: Uint8Array,
  max: number,
  params: ScryptParams,
  random: (length: number) => Uint8Array,
): Promise<PinRecord> {
  const salt = random(SALT_LENGTH);
  const keys = await derivePinKeys(root, pin, salt, params);
  const record: PinRecord = {
    max,
    remaining: max,
    pinLength: pin.length,
    scrypt: { ...params },
    salt,
    verifier: keys.verifier,
    sealedMkek: new Uint8Array(0),
  };
  const nonce = random(NONCE_LENGTH);
  const sealed = gcm(keys.kek, nonce, mkekAssociatedData(name, record)).encrypt(mkek);
  record.sealedMkek = concatBytes(nonce, sealed);
  wipe(keys.kek);
  return record;
}

/**
 * Checks `pin` against `record`. Returns the MKEK on a match and undefined on a
 * mismatch; throws KeystoreIntegrityError when the verifier matches but the MKEK
 * copy does not open.
 */
export async function openPinRecord(
  root: RootKeys,
  name: string,
  record: PinRecord,
  pin: Uint8Array,
): Promise<Uint8Array | undefined> {
  const keys = await derivePinKeys(root, pin, record.salt, record.scrypt);
  try {
    if (!constantTimeEqual(keys.verifier, record.verifier)) return undefined;
    const nonce = record.sealedMkek.subarray(0, NONCE_LENGTH);
    try {
      return gcm(keys.kek, nonce, mkekAssociatedData(name, record)).decrypt(record.sealedMkek.subarray(NONCE_LENGTH));
    } catch {
      throw new KeystoreIntegrityError(`MKEK copy in ${JSON.stringify(name)} does not authenticate although the PIN matched`);
    }
  } finally {
    wipe(keys.kek);
  }
}

/** Encodes `record` and appends its MAC. */
export function encodePinRecord(root: RootKeys, name: string, record: PinRecord): Uint8Array {
  const body = concatBytes(
    Uint8Array.of(RECORD_FORMAT, record.max, record.remaining, record.pinLength),
    u32Bytes(record.scrypt.N),
    u32Bytes(record.scrypt.r),
    u32Bytes(record.scrypt.p),
    record.salt,
    record.verifier,
    record.sealedMkek,
  );
  return concatBytes(body, recordMac(root, name, body));
}

/** Checks the MAC and decodes a PIN record; throws KeystoreIntegrityError on any fault. */
export function decodePinRecord(root: RootKeys, name: string, bytes: Uint8Array): PinRecord {
  if (bytes.length < MAC_LENGTH) throw new KeystoreIntegrityError(`PIN record ${JSON.stringify(name)} is truncated`);
  const body = bytes.subarray(0, bytes.length - MAC_LENGTH);
  if (!constantTimeEqual(bytes.subarray(body.length), recordMac(root, name, body))) {
    throw new KeystoreIntegrityError(`PIN record ${JSON.stringify(name)} does not authenticate: modified or written under another device secret`);
  }
  try {
    return parseBody(body);
  } catch (error) {
    throw new KeystoreIntegrityError(`PIN record ${JSON.stringify(name)} is malformed: ${(error as Error).message}`);
  }
}

function parseBody(body: Uint8Array): PinRecord {
  const reader = new ByteReader(body.slice());
  const format = reader.u8();
  if (format !== RECORD_FORMAT) throw new RangeError(`unknown format 0x${format.toString(16)}`);
  const max = reader.u8();
  const remaining = reader.u8();
  const pinLength = reader.u8();
  const scrypt = { N: reader.u32(), r: reader.u32(), p: reader.u32() };
  checkScryptParams(scrypt);
  const record: PinRecord = {
    max,
    remaining,
    pinLength,
    scrypt,
    salt: reader.take(SALT_LENGTH),
    verifier: reader.take(32),
    sealedMkek: reader.take(NONCE_LENGTH + MKEK_LENGTH + TAG_LENGTH),
  };
  if (reader.remaining !== 0) throw new RangeError(`${reader.remaining} trailing bytes`);
  if (remaining > max) throw new RangeError(`remaining tries ${remaining} exceed the maximum ${max}`);
  return record;
}

function recordMac(root: RootKeys, name: string, body: Uint8Array): Uint8Array {
  return hmac(sha256, root.pinRecordMacKey, concatBytes(lengthPrefixed(utf8ToBytes(name)), body));
}

function mkekAssociatedData(name: string, record: PinRecord): Uint8Array {
  return concatBytes(
    MKEK_AAD_LABEL,
    lengthPrefixed(utf8ToBytes(name)),
    Uint8Array.of(RECORD_FORMAT, record.pinLength),
    u32Bytes(record.scrypt.N),
    u32Bytes(record.scrypt.r),
    u32Bytes(record.scrypt.p),
    record.salt,
    record.verifier,
  );
}
