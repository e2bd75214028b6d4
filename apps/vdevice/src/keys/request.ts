/**
 * The authenticated CV request that GENERATE ASYMMETRIC KEY PAIR returns and
 * stores as CE n:
 *
 *   67 { 7F21 { 7F4E {5F29, 42 CAR, 7F49, 5F20 CHR, [65]}, 5F37 inner },
 *        42 device CHR, 5F37 outer }
 *
 * Inner signature: by the new key over the complete 7F4E, SHA-256, RSA
 * PKCS#1 v1.5 or ECDSA r‖s (each half the field length); Ed25519/Ed448 sign
 * the SHA-256 digest of 7F4E with PureEdDSA, and X25519/X448, which cannot
 * sign, put 2 × field-length zero bytes there. Outer signature: by
 * the device key over the complete 7F21 ‖ 42.
 */
import { CardError, SW } from "@hsmkit/apdu";
import {
  CvcError,
  encodeAuthenticatedRequest,
  encodeCertificateBody,
  signCertificate,
  type CvcExtension,
  type CvcPublicKey,
} from "@hsmkit/cvc";
import { curveByName } from "../crypto/curves.ts";
import { ecdsaSignDigestRaw } from "../crypto/ec.ts";
import { eddsaSign, isEdwards, type OctetPrivateKey } from "../crypto/octet-curves.ts";
import { encodeDigestInfo, hash } from "../crypto/hash.ts";
import { rsaPkcs1Sign } from "../crypto/rsa.ts";
import type { AsymmetricKey } from "./private-key.ts";

export interface RequestFields {
  car: string;
  chr: string;
  publicKey: CvcPublicKey;
  extensions?: CvcExtension[];
}

export interface DeviceSigner {
  /** CHR of the device certificate: the outer CAR. */
  chr: string;
  /** Signs with the device key (ECDSA-SHA-256, r‖s). */
  sign: (message: Uint8Array) => Promise<Uint8Array>;
}

/**
 * Builds the authenticated request for `key`. A CAR or CHR that is not
 * printable ASCII is CardError 6A80.
 */
export async function buildAuthenticatedRequest(fields: RequestFields, key: AsymmetricKey, device: DeviceSigner): Promise<Uint8Array> {
  let body: Uint8Array;
  try {
    body = encodeCertificateBody({ car: fields.car, publicKey: fields.publicKey, chr: fields.chr, extensions: fields.extensions });
  } catch (error) {
    if (error instanceof CvcError) throw new CardError(SW.WRONG_DATA, `cannot build the CV request: ${error.message}`);
    throw error;
  }

  const inner = await signCertificate(body, (message) => signWithNewKey(key, message));
  return encodeAuthenticatedRequest(inner, device.chr, device.sign);
}

/** Signs `message` over SHA-256 with the new key (proof of possession). */
async function signWithNewKey(key: AsymmetricKey, message: Uint8Array): Promise<Uint8Array> {
  const digest = hash("SHA-256", message);
  if (key.type === "rsa") return rsaPkcs1Sign(key.key, encodeDigestInfo("SHA-256", digest));
  if (key.type === "octet") return octetInnerSignature(key.key, digest);

  const { fieldBytes, orderBytes } = curveByName(key.key.curve);
  const compact = ecdsaSignDigestRaw(key.key, digest);
  return widenHalves(compact, orderBytes, Math.max(fieldBytes, orderBytes));
}

/** Left-pads r and s from `from` to `to` bytes each (`to` ≥ `from`; equal on every supported curve). */
function widenHalves(compact: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to) return compact;
  const out = new Uint8Array(2 * to);
  out.set(compact.subarray(0, from), to - from);
  out.set(compact.subarray(from), 2 * to - from);
  return out;
}

/** EdDSA over the digest for Ed keys; 2 × field-length zero bytes for X keys, which cannot sign. */
function octetInnerSignature(key: OctetPrivateKey, digest: Uint8Array): Uint8Array {
  if (isEdwards(key.curve)) return eddsaSign(key, digest);
  return new Uint8Array(key.curve === "x25519" ? 64 : 112);
}
