/**
 * Signature verification for CVCs and authenticated requests. The hash and
 * padding come from the signer's key OID: id-TA-ECDSA-SHA-x (raw r ‖ s),
 * id-TA-RSA-v1-5-SHA-x (PKCS#1 v1.5), id-TA-RSA-PSS-SHA-x (PSS, salt length =
 * digest length). Ed25519/Ed448 keys verify over SHA-256 of the data, the
 * SmartCard-HSM firmware convention.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import type { AuthenticatedRequest } from "./authenticated-request.ts";
import type { CvCertificate } from "./certificate.ts";
import { type EcDomain, ecdsaForDomain } from "./ec-domain.ts";
import { bigIntToBytes, byteLength, bytesToBigInt, stripLeadingZeros } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import { digest, digestLength } from "./hash.ts";
import { type HashName, signatureSchemeOf } from "./oid.ts";
import type { CvcEcPublicKey, CvcPublicKey, CvcRsaPublicKey } from "./public-key.ts";

/** Options of the verification functions. */
export interface VerifyOptions {
  /**
   * Domain parameters for an EC signer key that carries only its point (86).
   * Take them from the issuer chain: the nearest certificate above with 81..87.
   */
  readonly domain?: EcDomain;
}

/**
 * Verifies the signature of a certificate or request (over its 7F4E body) or the
 * outer signature of an authenticated request (over 7F21 ‖ 42) with the
 * signer's public key. Returns false for a wrong signature. Throws CvcError when
 * the key cannot be used (unsupported algorithm, missing EC domain parameters).
 */
export async function verifyCvSignature(
  target: CvCertificate | AuthenticatedRequest,
  signerKey: CvcPublicKey,
  options: VerifyOptions = {},
): Promise<boolean> {
  if (target.kind === "authenticated-request") return verifySignature(signerKey, target.signedBytes, target.outerSignature, options);
  return verifySignature(signerKey, target.bodyBytes, target.signature, options);
}

/**
 * Verifies the inner signature of a request with the key it contains (proof of
 * possession). Throws CvcError for X25519/X448 keys, which cannot sign.
 */
export async function verifyProofOfPossession(request: CvCertificate | AuthenticatedRequest): Promise<boolean> {
  const inner = request.kind === "authenticated-request" ? request.request : request;
  return verifyCvSignature(inner, inner.body.publicKey);
}

/** Verifies a raw CVC-style signature of `message` with a CVC public key. */
export async function verifySignature(
  key: CvcPublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  options: VerifyOptions = {},
): Promise<boolean> {
  switch (key.kind) {
    case "rsa":
      return verifyRsa(key, message, signature);
    case "ec":
      return verifyEcdsa(key, message, signature, options.domain);
    case "ed25519":
      return safely(() => ed25519.verify(signature, digest("SHA-256", message), key.publicKey));
    case "ed448":
      return safely(() => ed448.verify(signature, digest("SHA-256", message), key.publicKey));
    case "x25519":
    case "x448":
      throw new CvcError("unsupported", "publicKey", `${key.kind} keys are for key agreement and cannot sign, so the SmartCard-HSM fills their inner request signature with zeros`);
  }
}

function verifyEcdsa(key: CvcEcPublicKey, message: Uint8Array, signature: Uint8Array, fallback: EcDomain | undefined): boolean {
  const domain = key.domain ?? fallback;
  if (domain === undefined) {
    throw new CvcError("invalid-argument", "publicKey.domain", "the key carries only its point (86), so pass the domain parameters of its issuer chain in options.domain");
  }

  // The SmartCard-HSM firmware hashes with SHA-256 for every EC key, so that is the default outside id-TA-ECDSA.
  const scheme = signatureSchemeOf(key.oid);
  const hash: HashName = scheme?.family === "ecdsa" ? scheme.hash : "SHA-256";

  if (signature.length === 0 || signature.length % 2 !== 0) return false;
  const half = signature.length / 2;
  const r = bytesToBigInt(signature.subarray(0, half));
  const s = bytesToBigInt(signature.subarray(half));
  if (r === 0n || s === 0n || r >= domain.n || s >= domain.n) return false;

  const curve = ecdsaForDomain(domain);
  const scalarLength = byteLength(domain.n);
  const compact = new Uint8Array(2 * scalarLength);
  compact.set(bigIntToBytes(r, scalarLength), 0);
  compact.set(bigIntToBytes(s, scalarLength), scalarLength);

  try {
    curve.Point.fromBytes(key.point).assertValidity();
  } catch (error) {
    throw new CvcError("malformed", "publicKey.point", `not a point on the curve: ${(error as Error).message}`);
  }
  return safely(() => curve.verify(compact, digest(hash, message), key.point, { prehash: false, lowS: false }));
}

async function verifyRsa(key: CvcRsaPublicKey, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const scheme = signatureSchemeOf(key.oid);
  if (scheme === undefined || scheme.family === "ecdsa") throw new CvcError("unsupported", "publicKey.oid", `no RSA signature scheme for OID ${key.oid}`);

  const name = scheme.family === "rsa-pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
  const jwk: JsonWebKey = { kty: "RSA", n: base64Url(stripLeadingZeros(key.modulus)), e: base64Url(stripLeadingZeros(key.exponent)), ext: true };

  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey("jwk", jwk, { name, hash: scheme.hash }, false, ["verify"]);
  } catch (error) {
    throw new CvcError("unsupported", "publicKey", `WebCrypto rejected the RSA key: ${(error as Error).message}`);
  }

  // NOTE: the PSS salt length is assumed to equal the digest length, unconfirmed against a real PSS-signed CVC.
  const params = name === "RSA-PSS" ? { name, saltLength: digestLength(scheme.hash) } : { name };
  return crypto.subtle.verify(params, publicKey, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
}

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
