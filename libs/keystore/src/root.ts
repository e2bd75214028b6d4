/**
 * The host-bound root of the store: kbase and the keys derived from it.
 *
 * kbase = HKDF-SHA-256(salt = SHA-256(storeId), ikm = device secret,
 * info = "DEVICE/ROOT\0"), which is the firmware's OTP formula with the
 * device secret in place of the OTP key and a random 16-byte store id in
 * place of the chip serial. Without the device secret nothing in the store
 * can be opened or checked.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ByteReader, concatBytes, constantTimeEqual, utf8ToBytes, wipe } from "./bytes.ts";
import { KeystoreIntegrityError } from "./errors.ts";

/** Length of the device secret, in bytes. */
export const DEVICE_SECRET_LENGTH = 32;

/** Length of the random store id, in bytes (the software serial_id). */
export const STORE_ID_LENGTH = 16;

/** Backend name of the header record; names under "keystore/" are reserved. */
export const HEADER_NAME = "keystore/header";

const HEADER_FORMAT = 0x01;

/** Derives a 32-byte key with HKDF-SHA-256 and an ASCII info label. */
export function deriveKey(salt: Uint8Array, ikm: Uint8Array, info: string): Uint8Array {
  return hkdf(sha256, ikm, salt, utf8ToBytes(info), 32);
}

/** kbase and its subkeys for one store; `wipe()` clears them. */
export class RootKeys {
  readonly storeId: Uint8Array;
  /** SHA-256(storeId): the HKDF salt of every derivation (the firmware's serial_hash). */
  readonly storeHash: Uint8Array;
  readonly kbase: Uint8Array;
  /** HMAC key that authenticates PIN records. */
  readonly pinRecordMacKey: Uint8Array;
  /** AES-256-GCM key of records sealed with putDeviceSecret. */
  readonly deviceRecordKey: Uint8Array;
  readonly #headerMacKey: Uint8Array;

  constructor(deviceSecret: Uint8Array, storeId: Uint8Array) {
    if (!(deviceSecret instanceof Uint8Array) || deviceSecret.length !== DEVICE_SECRET_LENGTH) {
      throw new RangeError(`device secret must be ${DEVICE_SECRET_LENGTH} bytes, got ${describeLength(deviceSecret)}`);
    }
    this.storeId = storeId.slice();
    this.storeHash = sha256(storeId);
    this.kbase = hkdf(sha256, deviceSecret, this.storeHash, utf8ToBytes("DEVICE/ROOT\0"), 32);
    this.pinRecordMacKey = deriveKey(this.storeHash, this.kbase, "KEYSTORE/PIN-RECORD");
    this.deviceRecordKey = deriveKey(this.storeHash, this.kbase, "RECORD/DEVICE");
    this.#headerMacKey = deriveKey(this.storeHash, this.kbase, "KEYSTORE/HEADER");
  }

  /** Encodes the header record: format [1] || storeId [16] || HMAC [32]. */
  encodeHeader(): Uint8Array {
    const body = concatBytes(Uint8Array.of(HEADER_FORMAT), this.storeId);
    return concatBytes(body, this.#headerMac(body));
  }

  /** Throws KeystoreIntegrityError unless `header` was written under this device secret. */
  checkHeader(header: Uint8Array): void {
    const body = header.subarray(0, 1 + STORE_ID_LENGTH);
    const mac = header.subarray(1 + STORE_ID_LENGTH);
    if (!constantTimeEqual(mac, this.#headerMac(body))) {
      throw new KeystoreIntegrityError(
        "keystore header does not authenticate: the device secret does not belong to this store, or the header was modified",
      );
    }
  }

  wipe(): void {
    wipe(this.kbase, this.pinRecordMacKey, this.deviceRecordKey, this.#headerMacKey);
  }

  #headerMac(body: Uint8Array): Uint8Array {
    return hmac(sha256, this.#headerMacKey, concatBytes(utf8ToBytes(HEADER_NAME), body));
  }
}

/** Reads the store id from a header record; the MAC is checked by RootKeys.checkHeader. */
export function parseHeaderStoreId(header: Uint8Array): Uint8Array {
  try {
    const reader = new ByteReader(header);
    const format = reader.u8();
    if (format !== HEADER_FORMAT) throw new RangeError(`unknown header format 0x${format.toString(16)}`);
    const storeId = reader.take(STORE_ID_LENGTH).slice();
    reader.take(32);
    if (reader.remaining !== 0) throw new RangeError(`${reader.remaining} trailing bytes`);
    return storeId;
  } catch (error) {
    throw new KeystoreIntegrityError(`keystore header is malformed: ${(error as Error).message}`);
  }
}

function describeLength(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length}` : typeof value;
}
