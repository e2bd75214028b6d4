/**
 * RSA private-key operations of the card: key generation, the raw private-key operation,
 * PKCS#1 v1.5 and PSS signatures, and PKCS#1 v1.5, OAEP and raw decryption.
 *
 * Engine: Deno's node:crypto. `src/crypto/bench-rsa.ts` measured it against WebCrypto and pure
 * BigInt arithmetic, and only node:crypto offers both a raw private-key operation
 * (privateDecrypt with RSA_NO_PADDING) and the padding schemes. EMSA-PSS encoding of a digest the
 * caller computed lives in `pss.ts`, because none of the three accepts a precomputed digest.
 *
 * NOTE: side channels are those of Deno's node:crypto implementation, which this module does not
 * audit: decryption and signing may leak timing to the extent that implementation does.
 */
import * as nodeCrypto from "node:crypto";
import { CardError, SW } from "@hsmkit/apdu";
import { bigIntToBytes, bytesToBigInt } from "./curves.ts";
import { hashLength, type HashName } from "./hash.ts";
import { encodePss, defaultPssSaltLength } from "./pss.ts";

/** An RSA private key with its CRT parameters (RFC 8017 §3.2, second representation). */
export interface RsaPrivateKey {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qi: bigint;
}

export type RsaDecryptScheme = "raw" | "pkcs1" | { oaep: HashName };

/** Smallest and largest modulus the card generates, in bits. */
export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 4096;

/** The only public exponent the card uses: the firmware reloads every key with e = 65537. */
export const RSA_PUBLIC_EXPONENT = 65537n;

const NODE_HASH_NAMES: Record<HashName, string> = {
  "SHA-1": "sha1",
  "SHA-224": "sha224",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

// The engine's parsed form of each key, built on first use. Keys are compared by identity, so a
// caller that decodes a sealed key again pays one import (about 0.04 ms for RSA-2048).
const KEY_OBJECTS = new WeakMap<RsaPrivateKey, nodeCrypto.KeyObject>();

/**
 * Generates a key with e = 65537 and a modulus of exactly `bits` bits.
 * `bits` must be a multiple of 8 from 1024 to 4096, otherwise CardError WRONG_LENGTH (67 00).
 */
export async function generateRsaKey(bits: number): Promise<RsaPrivateKey> {
  if (!Number.isInteger(bits) || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 !== 0) {
    throw new CardError(
      SW.WRONG_LENGTH,
      `unsupported RSA modulus size ${bits}: use a multiple of 8 from ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`,
    );
  }

  const privateKey = await new Promise<nodeCrypto.KeyObject>((resolve, reject) => {
    const options = { modulusLength: bits, publicExponent: Number(RSA_PUBLIC_EXPONENT) };
    nodeCrypto.generateKeyPair("rsa", options, (error, _publicKey, generated) => {
      if (error) reject(error);
      else resolve(generated);
    });
  });
  const key = keyFromJwk(privateKey.export({ format: "jwk" }));
  KEY_OBJECTS.set(key, privateKey);
  return key;
}

/** Returns k, the length of the modulus in bytes. */
export function rsaModulusBytes(key: RsaPrivateKey): number {
  return Math.ceil(key.n.toString(2).length / 8);
}

/**
 * Computes block^d mod n, the raw private-key operation of SIGNATURE algorithm 20 and DECIPHER
 * algorithm 21, and returns exactly k bytes, leading zeros included.
 * A block shorter than k bytes is zero-padded on the right, as the firmware does.
 * Throws CardError WRONG_LENGTH (67 00) for an empty block or one longer than k bytes, and
 * EXECUTION_ERROR (64 00), the firmware's status word, when the block's value is not below n.
 */
export async function rsaRaw(key: RsaPrivateKey, block: Uint8Array): Promise<Uint8Array> {
  const k = rsaModulusBytes(key);
  if (block.length === 0 || block.length > k) {
    throw new CardError(SW.WRONG_LENGTH, `RSA input must be 1 to ${k} bytes for this key, got ${block.length}`);
  }

  const padded = new Uint8Array(k);
  padded.set(block);
  if (bytesToBigInt(padded) >= key.n) {
    throw new CardError(SW.EXECUTION_ERROR, "RSA input is not smaller than the modulus");
  }

  const result = nodeCrypto.privateDecrypt({ key: keyObject(key), padding: nodeCrypto.constants.RSA_NO_PADDING }, padded);
  return leftPad(new Uint8Array(result), k);
}

/**
 * Signs with RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) over a DER DigestInfo the caller supplies, and
 * returns k bytes. The DigestInfo is padded as given, without checking its algorithm.
 * Throws CardError WRONG_LENGTH (67 00) when it exceeds k − 11 bytes.
 */
export async function rsaPkcs1Sign(key: RsaPrivateKey, digestInfo: Uint8Array): Promise<Uint8Array> {
  const k = rsaModulusBytes(key);
  if (digestInfo.length === 0 || digestInfo.length > k - 11) {
    throw new CardError(SW.WRONG_LENGTH, `DigestInfo must be 1 to ${k - 11} bytes for this key, got ${digestInfo.length}`);
  }

  const signature = nodeCrypto.privateEncrypt(
    { key: keyObject(key), padding: nodeCrypto.constants.RSA_PKCS1_PADDING },
    digestInfo,
  );
  return leftPad(new Uint8Array(signature), k);
}

/**
 * Signs a precomputed `digest` with RSASSA-PSS (RFC 8017 §8.1), MGF1 with the same hash.
 * The salt is `saltLength` random bytes, by default the hash length, or k − hLen − 2 when the key
 * is shorter than 2·hLen + 2 bytes (RSA-1024 with SHA-512 gets a 62-byte salt).
 * Throws CardError WRONG_LENGTH (67 00) for a digest of the wrong length or a salt that does not fit.
 */
export async function rsaPssSign(
  key: RsaPrivateKey,
  hash: HashName,
  digest: Uint8Array,
  saltLength?: number,
): Promise<Uint8Array> {
  const expected = hashLength(hash);
  if (digest.length !== expected) {
    throw new CardError(SW.WRONG_LENGTH, `${hash} digest must be ${expected} bytes, got ${digest.length}`);
  }

  const modulusBits = key.n.toString(2).length;
  const salt = saltLength ?? defaultPssSaltLength(rsaModulusBytes(key), hash);
  let encoded: Uint8Array;
  try {
    encoded = encodePss(hash, digest, modulusBits - 1, salt);
  } catch (error) {
    throw new CardError(SW.WRONG_LENGTH, `PSS encoding failed: ${(error as Error).message}`);
  }
  return rsaRaw(key, leftPad(encoded, rsaModulusBytes(key)));
}

/**
 * Decrypts `ciphertext` and returns the message: all k bytes for "raw" (as {@link rsaRaw}),
 * the unpadded plaintext for "pkcs1" (RSAES-PKCS1-v1_5) and OAEP (MGF1 with the same hash,
 * empty label).
 * For "pkcs1" and OAEP the ciphertext must be exactly k bytes (CardError WRONG_LENGTH, 67 00),
 * and a padding failure raises CardError EXECUTION_ERROR (64 00), as the firmware does.
 */
export async function rsaDecrypt(key: RsaPrivateKey, scheme: RsaDecryptScheme, ciphertext: Uint8Array): Promise<Uint8Array> {
  if (scheme === "raw") return rsaRaw(key, ciphertext);

  const k = rsaModulusBytes(key);
  if (ciphertext.length !== k) {
    throw new CardError(SW.WRONG_LENGTH, `RSA ciphertext must be ${k} bytes for this key, got ${ciphertext.length}`);
  }

  const options: nodeCrypto.RsaPrivateKey =
    scheme === "pkcs1"
      ? { key: keyObject(key), padding: nodeCrypto.constants.RSA_PKCS1_PADDING }
      : { key: keyObject(key), padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH_NAMES[scheme.oaep] };
  try {
    return new Uint8Array(nodeCrypto.privateDecrypt(options, ciphertext));
  } catch {
    const name = scheme === "pkcs1" ? "PKCS#1 v1.5" : `OAEP with ${scheme.oaep}`;
    throw new CardError(SW.EXECUTION_ERROR, `RSA ${name} decryption failed`);
  }
}

/** Serializes `key` as a DER RSAPrivateKey (PKCS#1, RFC 8017 appendix A.1.2). */
export function encodeRsaPrivateKey(key: RsaPrivateKey): Uint8Array {
  return new Uint8Array(keyObject(key).export({ format: "der", type: "pkcs1" }));
}

/**
 * Parses a DER RSAPrivateKey (PKCS#1) and checks that n = p·q and that e and d are inverse
 * exponents modulo p − 1 and q − 1. Throws a RangeError for malformed or inconsistent input.
 * NOTE: Deno 2.9's node:crypto recomputes dp, dq and qi from p, q and d on import, so stored CRT
 * values that disagree with them are replaced, not rejected.
 */
export function decodeRsaPrivateKey(bytes: Uint8Array): RsaPrivateKey {
  let parsed: nodeCrypto.KeyObject;
  try {
    parsed = nodeCrypto.createPrivateKey({ key: Buffer.from(bytes), format: "der", type: "pkcs1" });
  } catch (error) {
    throw new RangeError(`invalid RSAPrivateKey: ${(error as Error).message}`);
  }
  if (parsed.asymmetricKeyType !== "rsa") throw new RangeError("invalid RSAPrivateKey: not an RSA key");

  const key = keyFromJwk(parsed.export({ format: "jwk" }));
  checkConsistent(key);
  KEY_OBJECTS.set(key, parsed);
  return key;
}

function checkConsistent(key: RsaPrivateKey): void {
  const { n, e, d, p, q, dp, dq, qi } = key;
  const consistent =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    dp === d % (p - 1n) &&
    dq === d % (q - 1n) &&
    (qi * q) % p === 1n &&
    (e * dp) % (p - 1n) === 1n &&
    (e * dq) % (q - 1n) === 1n;
  if (!consistent) throw new RangeError("invalid RSAPrivateKey: parameters are inconsistent");
}

function keyObject(key: RsaPrivateKey): nodeCrypto.KeyObject {
  let object = KEY_OBJECTS.get(key);
  if (object === undefined) {
    object = nodeCrypto.createPrivateKey({ key: keyToJwk(key), format: "jwk" });
    KEY_OBJECTS.set(key, object);
  }
  return object;
}

const JWK_FIELDS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;

function keyFromJwk(jwk: nodeCrypto.JsonWebKey): RsaPrivateKey {
  const values = JWK_FIELDS.map((field) => {
    const text = jwk[field];
    if (typeof text !== "string") throw new RangeError(`RSA key has no ${field}`);
    return bytesToBigInt(Buffer.from(text, "base64url"));
  });
  const [n, e, d, p, q, dp, dq, qi] = values;
  return { n, e, d, p, q, dp, dq, qi };
}

function keyToJwk(key: RsaPrivateKey): nodeCrypto.JsonWebKey {
  const jwk: nodeCrypto.JsonWebKey = { kty: "RSA" };
  for (const field of JWK_FIELDS) {
    const value = key[field];
    const bytes = bigIntToBytes(value, Math.max(1, Math.ceil(value.toString(16).length / 2)));
    jwk[field] = Buffer.from(bytes).toString("base64url");
  }
  return jwk;
}

function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length === length) return bytes;
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  return out;
}
