/**
 * Signers make the raw signatures that CVCs carry in 5F37:
 *   ECDSA  r ‖ s, each left-padded to the field length f;
 *   RSA    PKCS#1 v1.5 or PSS, modulus length;
 *   EdDSA  PureEdDSA over the SHA-256 digest of the data (the SmartCard-HSM
 *          firmware convention; pycvc signs the data itself).
 */

import type { ECDSA } from "@noble/curves/abstract/weierstrass.js";
import { bigIntToBytes, byteLength, bytesToBigInt } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import { digest, digestLength } from "./hash.ts";
import type { HashName } from "./oid.ts";

/** Returns the raw signature of `message` (the signer hashes it). */
export type Signer = (message: Uint8Array) => Promise<Uint8Array>;

/** Returns a Signer for ECDSA with a noble v2 curve (e.g. `p256`) and a raw private scalar. */
export function ecdsaSigner(curve: ECDSA, privateKey: Uint8Array, hash: HashName = "SHA-256"): Signer {
  if (!curve.utils.isValidSecretKey(privateKey)) throw new CvcError("invalid-argument", "privateKey", "not a valid private key for this curve");

  const { p, n } = curve.Point.CURVE();
  const half = Math.max(byteLength(p), byteLength(n));
  const scalarLength = curve.lengths.signature! / 2;

  return async (message) => {
    const compact = curve.sign(digest(hash, message), privateKey, { prehash: false });
    const r = bytesToBigInt(compact.subarray(0, scalarLength));
    const s = bytesToBigInt(compact.subarray(scalarLength));
    const out = new Uint8Array(2 * half);
    out.set(bigIntToBytes(r, half), 0);
    out.set(bigIntToBytes(s, half), half);
    return out;
  };
}

/** Minimal EdDSA interface of noble's `ed25519` and `ed448`. */
export interface EdDsaCurve {
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/** Returns a Signer for Ed25519/Ed448 that signs SHA-256(message), as the SmartCard-HSM firmware does. */
export function eddsaSigner(curve: EdDsaCurve, privateKey: Uint8Array): Signer {
  return async (message) => curve.sign(digest("SHA-256", message), privateKey);
}

/**
 * Returns a Signer for a WebCrypto RSA private key (RSASSA-PKCS1-v1_5 or RSA-PSS;
 * PSS uses a salt as long as the digest). The hash is the one the key was
 * imported or generated with.
 */
export function rsaSigner(privateKey: CryptoKey): Signer {
  const algorithm = privateKey.algorithm as RsaHashedKeyAlgorithm;
  if (algorithm.name !== "RSASSA-PKCS1-v1_5" && algorithm.name !== "RSA-PSS") {
    throw new CvcError("invalid-argument", "privateKey", `expected an RSASSA-PKCS1-v1_5 or RSA-PSS key, got ${algorithm.name}`);
  }

  const params: AlgorithmIdentifier | RsaPssParams =
    algorithm.name === "RSA-PSS" ? { name: "RSA-PSS", saltLength: digestLength(algorithm.hash.name as HashName) } : { name: algorithm.name };
  return async (message) => new Uint8Array(await crypto.subtle.sign(params, privateKey, message as Uint8Array<ArrayBuffer>));
}

/**
 * Returns a Signer that outputs `length` zero bytes. X25519/X448 keys cannot sign,
 * so the SmartCard-HSM puts this placeholder in the inner signature of their
 * requests, and the outer signature is the only proof.
 */
export function zeroSigner(length: number): Signer {
  return async () => new Uint8Array(length);
}
