/**
 * The CV-certificate public key (7F49) of a stored key. EC keys carry every
 * domain parameter (81–85, 87) beside the point 86, because OpenSC identifies
 * the curve by the values and widths of 81 and 82.
 */
import { ecDomainFromNoble, ID_RI_ECDH_SHA_256, ID_TA_ECDSA_SHA_256, ID_TA_RSA_V1_5_SHA_256, type CvcPublicKey } from "@hsmkit/cvc";
import { curveByName, type CurveName } from "../crypto/curves.ts";
import { isOctetCurve } from "../crypto/octet-curves.ts";
import type { KeyInfo } from "../hsm/context.ts";

/**
 * Returns the CVC public key of `info`: id-TA-RSA-v1-5-SHA-256 with n and e, or
 * id-TA-ECDSA-SHA-256 with the curve's domain parameters and the point, or
 * id-RI-ECDH-SHA-256 with 81 p, 82 n, 83 base point, 84 public key for the
 * X25519, X448, Ed25519 and Ed448 keys.
 * Throws a TypeError for an AES key or a description without its public key.
 */
export function cvcPublicKeyOf(info: KeyInfo): CvcPublicKey {
  if (info.publicKey === undefined) throw new TypeError(`key ${info.id} has no public key in its description`);

  if (info.type === "rsa") {
    if (info.publicExponent === undefined) throw new TypeError(`RSA key ${info.id} has no public exponent`);
    return { kind: "rsa", oid: ID_TA_RSA_V1_5_SHA_256, modulus: info.publicKey, exponent: info.publicExponent };
  }

  if (info.type === "ec") {
    if (info.curve === undefined) throw new TypeError(`EC key ${info.id} has no curve`);
    if (isOctetCurve(info.curve)) return { kind: info.curve, oid: ID_RI_ECDH_SHA_256, publicKey: info.publicKey };
    const { curve } = curveByName(info.curve as CurveName);
    return { kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(curve), point: info.publicKey };
  }

  throw new TypeError(`key ${info.id} is an AES key and has no public key`);
}
