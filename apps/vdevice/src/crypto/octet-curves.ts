/**
 * Curve25519/Curve448 key agreement (X25519, X448, RFC 7748) and Ed25519/Ed448 signatures
 * (PureEdDSA, RFC 8032): the "octet" curves, whose keys are plain byte strings rather than
 * points 04 ‖ x ‖ y. All arithmetic is @noble/curves.
 *
 * A key-pair request names them by field prime (CV-certificate tag 81) plus base point (83).
 * With the 25519 prime, a base point starting 09 selects X25519 and any other Ed25519. With the
 * 448 prime, a base point of at most 56 bytes starting 05 selects X448 and any other Ed448.
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";
import { CardError, SW } from "@hsmkit/apdu";
import { bytesToBigInt } from "./curves.ts";

export type OctetCurveName = "x25519" | "x448" | "ed25519" | "ed448";

export const OCTET_CURVES: readonly OctetCurveName[] = ["x25519", "x448", "ed25519", "ed448"];

export interface OctetPrivateKey {
  curve: OctetCurveName;
  /** RFC 7748 scalar (32/56 bytes) or RFC 8032 secret seed (32/57 bytes). */
  secret: Uint8Array;
}

interface OctetCurveInfo {
  secretBytes: number;
  /** Public key (u-coordinate or encoded point) length. */
  publicBytes: number;
  getPublicKey: (secret: Uint8Array) => Uint8Array;
  randomSecret: () => Uint8Array;
  /** RFC 8410 algorithm OID, DER content bytes. */
  oid: number;
}

const INFO: Record<OctetCurveName, OctetCurveInfo> = {
  x25519: { secretBytes: 32, publicBytes: 32, getPublicKey: x25519.getPublicKey, randomSecret: x25519.utils.randomSecretKey, oid: 0x6e },
  x448: { secretBytes: 56, publicBytes: 56, getPublicKey: x448.getPublicKey, randomSecret: x448.utils.randomSecretKey, oid: 0x6f },
  ed25519: { secretBytes: 32, publicBytes: 32, getPublicKey: ed25519.getPublicKey, randomSecret: ed25519.utils.randomSecretKey, oid: 0x70 },
  ed448: { secretBytes: 57, publicBytes: 57, getPublicKey: ed448.getPublicKey, randomSecret: ed448.utils.randomSecretKey, oid: 0x71 },
};

const PRIME_25519 = ed25519.Point.CURVE().p;
const PRIME_448 = ed448.Point.CURVE().p;

export function isOctetCurve(name: string | undefined): name is OctetCurveName {
  return name !== undefined && (OCTET_CURVES as readonly string[]).includes(name);
}

/**
 * Picks the octet curve of a key-pair template from its field prime and base point, or returns
 * undefined when the prime is neither 2^255 − 19 nor 2^448 − 2^224 − 1.
 * Throws CardError 6700 when the base point 83 is missing, as the firmware requires it.
 */
export function octetCurveByTemplate(prime: Uint8Array, generator: Uint8Array | undefined): OctetCurveName | undefined {
  const p = bytesToBigInt(prime);
  if (p !== PRIME_25519 && p !== PRIME_448) return undefined;
  if (generator === undefined || generator.length === 0) {
    throw new CardError(SW.WRONG_LENGTH, "a Curve25519/Curve448 key template needs the base point 83");
  }

  if (p === PRIME_25519) return generator[0] === 0x09 ? "x25519" : "ed25519";
  return generator[0] === 0x05 && generator.length <= 56 ? "x448" : "ed448";
}

/** Size of the key in bits as the key description records it: 8 × secret bytes. */
export function octetKeyBits(curve: OctetCurveName): number {
  return 8 * INFO[curve].secretBytes;
}

/** Generates a key pair; `publicKey` is the raw u-coordinate (X) or encoded point (Ed). */
export function generateOctetKey(curve: OctetCurveName): { privateKey: OctetPrivateKey; publicKey: Uint8Array } {
  const privateKey = { curve, secret: INFO[curve].randomSecret() };
  return { privateKey, publicKey: octetPublicKey(privateKey) };
}

export function octetPublicKey(key: OctetPrivateKey): Uint8Array {
  return INFO[key.curve].getPublicKey(key.secret);
}

/** True for the Edwards curves, the only octet curves that sign. */
export function isEdwards(curve: OctetCurveName): curve is "ed25519" | "ed448" {
  return curve === "ed25519" || curve === "ed448";
}

/** PureEdDSA signature of `message` (64 bytes on Ed25519, 114 on Ed448). Throws a TypeError for an X key. */
export function eddsaSign(key: OctetPrivateKey, message: Uint8Array): Uint8Array {
  if (key.curve === "ed25519") return ed25519.sign(message, key.secret);
  if (key.curve === "ed448") return ed448.sign(message, key.secret);
  throw new TypeError(`${key.curve} keys cannot sign`);
}

/**
 * X25519/X448 with the peer's raw u-coordinate; returns the shared secret little-endian, as
 * RFC 7748 defines it. Throws CardError 6984 for a peer key of the wrong length, a result of
 * all zeros (a small-order peer point) or an Edwards key.
 */
export function octetAgree(key: OctetPrivateKey, peer: Uint8Array): Uint8Array {
  if (isEdwards(key.curve)) throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `${key.curve} keys cannot run ECDH`);
  const expected = INFO[key.curve].publicBytes;
  if (peer.length !== expected) {
    throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `invalid ${key.curve} peer key: expected ${expected} bytes, got ${peer.length}`);
  }

  try {
    return (key.curve === "x25519" ? x25519 : x448).getSharedSecret(key.secret, peer);
  } catch (error) {
    throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `invalid ${key.curve} peer key: ${(error as Error).message}`);
  }
}

// RFC 8410 OneAsymmetricKey: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.xx }, OCTET STRING { OCTET STRING secret } }.

/** Serializes `key` as the DER PKCS#8 structure of RFC 8410. */
export function encodeOctetPrivateKey(key: OctetPrivateKey): Uint8Array {
  const { secretBytes, oid } = INFO[key.curve];
  if (key.secret.length !== secretBytes) throw new RangeError(`${key.curve} secret must be ${secretBytes} bytes`);
  return Uint8Array.of(0x30, secretBytes + 14, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, oid, 0x04, secretBytes + 2, 0x04, secretBytes, ...key.secret);
}

/** Parses the output of {@link encodeOctetPrivateKey}; throws a RangeError for anything else. */
export function decodeOctetPrivateKey(bytes: Uint8Array): OctetPrivateKey {
  const curve = OCTET_CURVES.find((name) => bytes.length === INFO[name].secretBytes + 16 && bytes[11] === INFO[name].oid);
  if (curve === undefined) throw new RangeError("invalid RFC 8410 private key: unknown length or OID");

  const expected = encodeOctetPrivateKey({ curve, secret: bytes.subarray(16) });
  if (!expected.every((byte, i) => byte === bytes[i])) throw new RangeError("invalid RFC 8410 private key: unexpected structure");
  return { curve, secret: bytes.slice(16) };
}
