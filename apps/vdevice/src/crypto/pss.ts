/**
 * EMSA-PSS encoding (RFC 8017 §9.1.1) of a digest the caller computed, with MGF1 (§B.2.1), for
 * the node:crypto RSA engine only (`nodeRsaEngine` in `rsa.ts`). The libcrypto engine pads PSS
 * inside OpenSSL and does not use this file.
 *
 * NOTE: hand-written because the node:crypto fallback has no library option. Node's and Deno's
 * crypto, WebCrypto and micro-rsa-dsa-dh 0.2.3 all hash the message themselves and take no
 * precomputed digest, and the card receives the digest for PSS (SIGNATURE algorithm 40).
 */
import { randomBytes } from "@noble/hashes/utils.js";
import { hash, hashLength, type HashName } from "./hash.ts";

/**
 * Encodes `digest` (mHash) into an emLen = ⌈emBits / 8⌉ byte EM, emBits being modBits − 1.
 * Throws a RangeError when the salt length is negative or EM has no room for it.
 */
export function encodePss(hashName: HashName, digest: Uint8Array, emBits: number, saltLength: number): Uint8Array {
  const hLen = hashLength(hashName);
  const emLen = Math.ceil(emBits / 8);
  if (!Number.isInteger(saltLength) || saltLength < 0) throw new RangeError(`invalid PSS salt length ${saltLength}`);
  if (emLen < hLen + saltLength + 2) {
    throw new RangeError(`PSS salt of ${saltLength} bytes with ${hashName} does not fit a ${emBits + 1}-bit key`);
  }

  // Steps 4-6: H = Hash(00 × 8 ‖ mHash ‖ salt).
  const salt = randomBytes(saltLength);
  const prefixed = new Uint8Array(8 + hLen + saltLength);
  prefixed.set(digest, 8);
  prefixed.set(salt, 8 + hLen);
  const h = hash(hashName, prefixed);

  // Steps 7-10: maskedDB = (PS ‖ 01 ‖ salt) XOR MGF1(H).
  const dbLength = emLen - hLen - 1;
  const db = new Uint8Array(dbLength);
  db[dbLength - saltLength - 1] = 0x01;
  db.set(salt, dbLength - saltLength);
  const mask = mgf1(hashName, h, dbLength);
  for (let i = 0; i < dbLength; i++) db[i] ^= mask[i];

  // Step 11: clear the leftmost 8·emLen − emBits bits so that EM < 2^emBits.
  db[0] &= 0xff >> (8 * emLen - emBits);

  // Step 12: EM = maskedDB ‖ H ‖ BC.
  const encoded = new Uint8Array(emLen);
  encoded.set(db);
  encoded.set(h, dbLength);
  encoded[emLen - 1] = 0xbc;
  return encoded;
}

/** MGF1: the first `length` bytes of Hash(seed ‖ 0) ‖ Hash(seed ‖ 1) ‖ … with 4-byte counters. */
function mgf1(hashName: HashName, seed: Uint8Array, length: number): Uint8Array {
  const hLen = hashLength(hashName);
  const out = new Uint8Array(Math.ceil(length / hLen) * hLen);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  const view = new DataView(input.buffer);
  for (let counter = 0; counter * hLen < length; counter++) {
    view.setUint32(seed.length, counter);
    out.set(hash(hashName, input), counter * hLen);
  }
  return out.subarray(0, length);
}
