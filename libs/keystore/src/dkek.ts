/**
 * The DKEK (device key-encryption key) of a key domain and the keys derived
 * from it. A DKEK is 32 bytes, the XOR of every share imported into the domain,
 * so the order of the shares does not matter and a single share is the DKEK.
 *
 *   KCV  = SHA-256(DKEK)[0..7]            key check value, names the DKEK without revealing it
 *   Kenc = SHA-256(DKEK ‖ 00 00 00 01)    AES-256 key of a key blob's encrypted body
 *   Kmac = SHA-256(DKEK ‖ 00 00 00 02)    AES-256 key of a key blob's CMAC
 */

import { sha256 } from "@noble/hashes/sha2.js";

import { concatBytes } from "./bytes.ts";

/** Length in bytes of a DKEK and of each DKEK share. */
export const DKEK_LENGTH = 32;

/** Length in bytes of a KCV. */
export const KCV_LENGTH = 8;

/** Returns the KCV of `dkek`: the first 8 bytes of its SHA-256 hash. */
export function dkekKcv(dkek: Uint8Array): Uint8Array {
  checkDkek(dkek);
  return sha256(dkek).slice(0, KCV_LENGTH);
}

/** Returns `acc` XOR `share` as a new array: one share imported into an accumulator. */
export function addDkekShare(acc: Uint8Array, share: Uint8Array): Uint8Array {
  checkDkek(acc);
  checkDkek(share);
  const out = new Uint8Array(DKEK_LENGTH);
  for (let i = 0; i < DKEK_LENGTH; i++) out[i] = acc[i] ^ share[i];
  return out;
}

/** Returns the DKEK assembled from `shares` (their XOR). */
export function combineDkekShares(shares: readonly Uint8Array[]): Uint8Array {
  if (shares.length === 0) throw new RangeError("at least one DKEK share is needed");
  return shares.reduce((acc, share) => addDkekShare(acc, share), new Uint8Array(DKEK_LENGTH));
}

/** The two AES-256 keys of the key-blob format; wipe both after use. */
export interface BlobKeys {
  enc: Uint8Array;
  mac: Uint8Array;
}

/** Derives Kenc and Kmac from `dkek`. */
export function deriveBlobKeys(dkek: Uint8Array): BlobKeys {
  checkDkek(dkek);
  return {
    enc: sha256(concatBytes(dkek, new Uint8Array([0, 0, 0, 1]))),
    mac: sha256(concatBytes(dkek, new Uint8Array([0, 0, 0, 2]))),
  };
}

function checkDkek(value: Uint8Array): void {
  if (!(value instanceof Uint8Array) || value.length !== DKEK_LENGTH) {
    throw new RangeError(`a DKEK or DKEK share must be ${DKEK_LENGTH} bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`);
  }
}
