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
 *   lockKey   = HKDF(storeHash, kbase || lock secret, "SECURE-LOCK/KEK")
 * The HMAC under kbase means a copy of the data directory alone cannot be used
 * to test PIN guesses; with the device secret as well, each guess costs one
 * scrypt run.
 *
 * Layout (all integers big-endian):
 *   format [1] || max [1] || remaining [1] || PIN length [1] ||
 *   N [4] || r [4] || p [4] || salt [16] || verifier [32] ||
 *   MKEK copy || HMAC-SHA-256(pinRecordMacKey, name || all preceding bytes) [32]
 * where, by format,
 *   0x01  MKEK copy = nonce [12] || AES-256-GCM(KEK, MKEK [32]) || tag [16]
 *   0x02  MKEK copy = nonce [12] || AES-256-GCM(lockKey, 0x01 copy [60]) || tag [16]
 * The MAC covers the counters, so editing them is detected; the GCM associated
 * data binds each layer to the name, PIN length, scrypt parameters, salt and
 * verifier.
 *
 * Format 0x02 is the secure lock. The lock layer is outside the PIN layer, so
 * enabling and disabling it re-seal both copies with the lock secret alone,
 * without either PIN and without changing the inner copy. The lock secret is
 * mixed with kbase so that it only opens copies of this store.
 */

import { gcm } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ByteReader, concatBytes, constantTimeEqual, lengthPrefixed, u32Bytes, utf8ToBytes, wipe } from "./bytes.ts";
import { KeystoreIntegrityError, KeystoreSecureLockError } from "./errors.ts";
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
const RECORD_FORMAT_LOCKED = 0x02;
const PLAIN_COPY_LENGTH = NONCE_LENGTH + MKEK_LENGTH + TAG_LENGTH;
const LOCKED_COPY_LENGTH = NONCE_LENGTH + PLAIN_COPY_LENGTH + TAG_LENGTH;
const MKEK_AAD_LABEL = utf8ToBytes("hsmkit/keystore MKEK copy v1");
const LOCK_AAD_LABEL = utf8ToBytes("hsmkit/keystore MKEK lock layer v1");

/** Length of the secure-lock secret, in bytes. */
export const LOCK_SECRET_LENGTH = 32;

/** Decoded PIN record; byte fields are views into fresh copies. */
export interface PinRecord {
  max: number;
  remaining: number;
  pinLength: number;
  scrypt: ScryptParams;
  salt: Uint8Array;
  verifier: Uint8Array;
  /** Whether `sealedMkek` carries the secure-lock layer (format 0x02). */
  secureLocked: boolean;
  /** The MKEK copy: 60 bytes without the lock layer, 88 with it. */
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
  lockKey?: Uint8Array,
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
    secureLocked: false,
    sealedMkek: new Uint8Array(0),
  };
  const nonce = random(NONCE_LENGTH);
  const sealed = gcm(keys.kek, nonce, mkekAssociatedData(name, record)).encrypt(mkek);
  record.sealedMkek = concatBytes(nonce, sealed);
  wipe(keys.kek);
  return lockKey === undefined ? record : addLockLayer(name, record, lockKey, random(NONCE_LENGTH));
}

/**
 * Checks `pin` against `record`. Returns the KEK of its MKEK copy on a match
 * (the caller wipes it) and undefined on a mismatch.
 */
export async function matchPin(root: RootKeys, record: PinRecord, pin: Uint8Array): Promise<Uint8Array | undefined> {
  const keys = await derivePinKeys(root, pin, record.salt, record.scrypt);
  if (constantTimeEqual(keys.verifier, record.verifier)) return keys.kek;
  wipe(keys.kek);
  return undefined;
}

/**
 * Opens the MKEK copy of `record` with the KEK of its PIN and, for a locked
 * record, the lock key. Throws KeystoreSecureLockError when a locked record
 * gets no lock key or a wrong one, and KeystoreIntegrityError when the PIN
 * layer does not open.
 */
export function openMkekCopy(name: string, record: PinRecord, kek: Uint8Array, lockKey: Uint8Array | undefined): Uint8Array {
  const copy = record.secureLocked ? removeLockLayer(name, record, lockKey).sealedMkek : record.sealedMkek;
  const nonce = copy.subarray(0, NONCE_LENGTH);
  try {
    return gcm(kek, nonce, mkekAssociatedData(name, record)).decrypt(copy.subarray(NONCE_LENGTH));
  } catch {
    throw new KeystoreIntegrityError(`MKEK copy in ${JSON.stringify(name)} does not authenticate although the PIN matched`);
  }
}

/** Derives the key of the secure-lock layer from a 32-byte lock secret. */
export function deriveLockKey(root: RootKeys, secret: Uint8Array): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length !== LOCK_SECRET_LENGTH) {
    const got = secret instanceof Uint8Array ? `${secret.length} bytes` : typeof secret;
    throw new RangeError(`lock secret must be ${LOCK_SECRET_LENGTH} bytes, got ${got}`);
  }
  const ikm = concatBytes(root.kbase, secret);
  const key = deriveKey(root.storeHash, ikm, "SECURE-LOCK/KEK");
  wipe(ikm);
  return key;
}

/** Returns a copy of the unlocked `record` whose MKEK copy is sealed again under `lockKey`. */
export function addLockLayer(name: string, record: PinRecord, lockKey: Uint8Array, nonce: Uint8Array): PinRecord {
  if (record.secureLocked) throw new KeystoreSecureLockError(`PIN record ${JSON.stringify(name)} already carries the lock layer`);
  const sealed = gcm(lockKey, nonce, lockAssociatedData(name, record)).encrypt(record.sealedMkek);
  return { ...record, secureLocked: true, sealedMkek: concatBytes(nonce, sealed) };
}

/**
 * Returns a copy of the locked `record` without the lock layer. Throws
 * KeystoreSecureLockError when `lockKey` is missing or does not open it.
 */
export function removeLockLayer(name: string, record: PinRecord, lockKey: Uint8Array | undefined): PinRecord {
  if (!record.secureLocked) return { ...record };
  if (lockKey === undefined) {
    throw new KeystoreSecureLockError("the MKEK is sealed under the secure-lock secret: set the lock secret (unlock the secure lock) first");
  }
  const nonce = record.sealedMkek.subarray(0, NONCE_LENGTH);
  try {
    const inner = gcm(lockKey, nonce, lockAssociatedData(name, record)).decrypt(record.sealedMkek.subarray(NONCE_LENGTH));
    return { ...record, secureLocked: false, sealedMkek: inner };
  } catch {
    throw new KeystoreSecureLockError(`the lock secret does not open the MKEK copy in ${JSON.stringify(name)}: wrong secret`);
  }
}

/** Encodes `record` and appends its MAC. */
export function encodePinRecord(root: RootKeys, name: string, record: PinRecord): Uint8Array {
  const body = concatBytes(
    Uint8Array.of(record.secureLocked ? RECORD_FORMAT_LOCKED : RECORD_FORMAT, record.max, record.remaining, record.pinLength),
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
  if (format !== RECORD_FORMAT && format !== RECORD_FORMAT_LOCKED) throw new RangeError(`unknown format 0x${format.toString(16)}`);
  const secureLocked = format === RECORD_FORMAT_LOCKED;
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
    secureLocked,
    sealedMkek: reader.take(secureLocked ? LOCKED_COPY_LENGTH : PLAIN_COPY_LENGTH),
  };
  if (reader.remaining !== 0) throw new RangeError(`${reader.remaining} trailing bytes`);
  if (remaining > max) throw new RangeError(`remaining tries ${remaining} exceed the maximum ${max}`);
  return record;
}

function recordMac(root: RootKeys, name: string, body: Uint8Array): Uint8Array {
  return hmac(sha256, root.pinRecordMacKey, concatBytes(lengthPrefixed(utf8ToBytes(name)), body));
}

/** Associated data of the PIN layer; the same with or without the lock layer. */
function mkekAssociatedData(name: string, record: PinRecord): Uint8Array {
  return recordAssociatedData(MKEK_AAD_LABEL, RECORD_FORMAT, name, record);
}

function lockAssociatedData(name: string, record: PinRecord): Uint8Array {
  return recordAssociatedData(LOCK_AAD_LABEL, RECORD_FORMAT_LOCKED, name, record);
}

function recordAssociatedData(label: Uint8Array, format: number, name: string, record: PinRecord): Uint8Array {
  return concatBytes(
    label,
    lengthPrefixed(utf8ToBytes(name)),
    Uint8Array.of(format, record.pinLength),
    u32Bytes(record.scrypt.N),
    u32Bytes(record.scrypt.r),
    u32Bytes(record.scrypt.p),
    record.salt,
    record.verifier,
  );
}
