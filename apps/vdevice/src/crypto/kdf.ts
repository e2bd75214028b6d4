/**
 * MACs, key-derivation functions and ChaCha20-Poly1305 of CIPHER SYMMETRIC, on @noble/hashes
 * and @noble/ciphers: HMAC (RFC 2104), HKDF (RFC 5869), PBKDF2 (RFC 8018), the ANSI X9.63 KDF
 * (SEC 1 §3.6.1) and ChaCha20-Poly1305 (RFC 8439).
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 as noblePbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { AuthenticationError } from "./aes-modes.ts";
import { hash, hashLength, type HashName } from "./hash.ts";

const NOBLE_HASH = { "SHA-1": sha1, "SHA-224": sha224, "SHA-256": sha256, "SHA-384": sha384, "SHA-512": sha512 } as const;

export function hmac(name: HashName, key: Uint8Array, message: Uint8Array): Uint8Array {
  return nobleHmac(NOBLE_HASH[name], key, message);
}

/** HKDF extract-and-expand; an empty salt means hLen zero bytes (RFC 5869 §2.2). Throws a RangeError for length > 255·hLen. */
export function hkdf(name: HashName, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * hashLength(name)) throw new RangeError(`HKDF-${name} output is limited to ${255 * hashLength(name)} bytes`);
  return nobleHkdf(NOBLE_HASH[name], ikm, salt.length === 0 ? undefined : salt, info, length);
}

/** PBKDF2 with HMAC over `name`. */
export function pbkdf2(name: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array {
  return noblePbkdf2(NOBLE_HASH[name], password, salt, { c: iterations, dkLen: length });
}

/**
 * ANSI X9.63 KDF: K = Hash(Z ‖ counter32 ‖ SharedInfo) for counter = 1, 2, … truncated to
 * `length` bytes.
 */
export function x963Kdf(name: HashName, z: Uint8Array, sharedInfo: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const input = new Uint8Array(z.length + 4 + sharedInfo.length);
  input.set(z);
  input.set(sharedInfo, z.length + 4);
  const view = new DataView(input.buffer);

  for (let counter = 1, offset = 0; offset < length; counter++) {
    view.setUint32(z.length, counter);
    const block = hash(name, input);
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
    offset += block.length;
  }
  input.fill(0);
  return out;
}

/** ChaCha20-Poly1305 encryption: ciphertext ‖ 16-byte tag. */
export function chachaPolyEncrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** ChaCha20-Poly1305 decryption of ciphertext ‖ tag; throws AuthenticationError when the tag does not match. */
export function chachaPolyDecrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, input: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(key, nonce, aad).decrypt(input);
  } catch {
    throw new AuthenticationError("ChaCha20-Poly1305");
  }
}
