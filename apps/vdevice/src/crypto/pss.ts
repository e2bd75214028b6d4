/**
 * EMSA-PSS encoding (RFC 8017 §9.1.1) of a digest the caller computed, with MGF1 (§B.2.1).
 *
 * The card receives the digest, not the message, for PSS (SIGNATURE algorithm 40). Node's and
 * Deno's crypto, WebCrypto and micro-rsa-dsa-dh 0.2.3 all hash the message themselves and take no
 * precomputed digest, so the encoding steps are written out here over @noble/hashes.
 * The private-key operation on the result is the RSA engine's (`rsa.ts`).
 */
import { randomBytes } from "@noble/hashes/utils.js";
import { hash, hashLength, type HashName } from "./hash.ts";

/**
 * Returns the salt length the card uses: the hash length when the modulus has at least
 * 2·hLen + 2 bytes, otherwise k − hLen − 2.
 */
export function defaultPssSaltLength(modulusBytes: number, hashName: HashName): number {
  const hLen = hashLength(hashName);
  return modulusBytes >= 2 * hLen + 2 ? hLen : modulusBytes - hLen - 2;
}

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
