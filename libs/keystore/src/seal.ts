/**
 * Sealed records: AES-256-GCM with the record name and the caller's metadata in
 * the associated data.
 *
 * Layout: format [1] || nonce [12] || ciphertext || tag [16]. The format byte
 * names the key that sealed the record and is itself authenticated. So a
 * record sealed under the device key cannot be opened as an MKEK record, nor
 * the other way round.
 */

import { gcm } from "@noble/ciphers/aes.js";
import { concatBytes, lengthPrefixed, utf8ToBytes } from "./bytes.ts";
import { KeystoreIntegrityError } from "./errors.ts";

/** Format byte of a record sealed under the MKEK-derived record key. */
export const SEALED_UNDER_MKEK = 0x01;

/** Format byte of a record sealed under the device-secret-derived record key. */
export const SEALED_UNDER_DEVICE = 0x02;

export type SealFormat = typeof SEALED_UNDER_MKEK | typeof SEALED_UNDER_DEVICE;

const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const AAD_LABEL = utf8ToBytes("hsmkit/keystore sealed record v1");

/** Seals `plaintext` for `name`; `nonce` must be 12 fresh random bytes. */
export function sealRecord(
  key: Uint8Array,
  format: SealFormat,
  name: string,
  plaintext: Uint8Array,
  metadata: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  if (nonce.length !== NONCE_LENGTH) throw new RangeError(`nonce must be ${NONCE_LENGTH} bytes, got ${nonce.length}`);
  const sealed = gcm(key, nonce, associatedData(format, name, metadata)).encrypt(plaintext);
  return concatBytes(Uint8Array.of(format), nonce, sealed);
}

/** Opens a sealed record; throws KeystoreIntegrityError on any mismatch. */
export function openRecord(
  key: Uint8Array,
  format: SealFormat,
  name: string,
  record: Uint8Array,
  metadata: Uint8Array,
): Uint8Array {
  if (record.length < 1 + NONCE_LENGTH + TAG_LENGTH) {
    throw new KeystoreIntegrityError(`sealed record ${JSON.stringify(name)} is truncated (${record.length} bytes)`);
  }
  if (record[0] !== format) {
    throw new KeystoreIntegrityError(
      `record ${JSON.stringify(name)} has format 0x${record[0].toString(16).padStart(2, "0")}, expected 0x0${format}`,
    );
  }
  const nonce = record.subarray(1, 1 + NONCE_LENGTH);
  try {
    return gcm(key, nonce, associatedData(format, name, metadata)).decrypt(record.subarray(1 + NONCE_LENGTH));
  } catch {
    throw new KeystoreIntegrityError(
      `sealed record ${JSON.stringify(name)} does not authenticate: modified, moved from another name, or paired with other metadata`,
    );
  }
}

function associatedData(format: SealFormat, name: string, metadata: Uint8Array): Uint8Array {
  return concatBytes(AAD_LABEL, Uint8Array.of(format), lengthPrefixed(utf8ToBytes(name)), lengthPrefixed(metadata));
}
