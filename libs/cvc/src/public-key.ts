/**
 * The CVC public-key template 7F49 (BSI TR-03110 part 3, D.3) in the layout the
 * SmartCard-HSM writes, elements in ascending tag order because OpenSC reads
 * them positionally:
 *
 *   RSA:       06 OID, 81 modulus n, 82 public exponent e (both minimal big-endian)
 *   EC:        06 OID, [81 p, 82 a mod p, 83 b, 84 G, 85 n], 86 Q, [87 cofactor]
 *              p, a, b are f bytes (f = field length), G and Q are 04‖x‖y, n is
 *              max(len n, f) bytes, the cofactor minimal. OpenSC finds the curve by
 *              the value and length of 81 and 82, so the widths matter.
 *   X25519/X448/Ed25519/Ed448 (SmartCard-HSM layout, no 86):
 *              06 id-RI-ECDH-SHA-256, 81 p, 82 n (both p-length big-endian),
 *              83 generator, 84 public key. The generator is u = 9 or 5 little-endian
 *              for X25519/X448 and the RFC 8032 encoded base point for Ed25519/Ed448.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import { encodeTlv, type Tlv } from "@hsmkit/tlv";
import { type EcDomain, fieldLength, splitUncompressedPoint } from "./ec-domain.ts";
import {
  bigIntToBytes,
  byteLength,
  bytesEqual,
  bytesToBigInt,
  indexByTag,
  readChildren,
  readOne,
  required,
  stripLeadingZeros,
} from "./encoding.ts";
import { CvcError } from "./errors.ts";
import { decodeOid, encodeOid, isEcdsaOid, isRsaOid } from "./oid.ts";
import { TAG_OID, TAG_PUBLIC_KEY } from "./tags.ts";

/** RSA public key. */
export interface CvcRsaPublicKey {
  readonly kind: "rsa";
  /** Signature OID, e.g. ID_TA_RSA_V1_5_SHA_256. */
  readonly oid: string;
  /** Modulus n, big-endian (leading zeros are dropped when encoding). */
  readonly modulus: Uint8Array;
  /** Public exponent e, big-endian (leading zeros are dropped when encoding). */
  readonly exponent: Uint8Array;
}

/** Short-Weierstrass EC public key. */
export interface CvcEcPublicKey {
  readonly kind: "ec";
  /** Signature OID, e.g. ID_TA_ECDSA_SHA_256. */
  readonly oid: string;
  /** Domain parameters; absent when the template carries only 86 (the curve then comes from the issuer chain). */
  readonly domain?: EcDomain;
  /** Public point Q, uncompressed 04‖x‖y (any SEC 1 form is kept as-is when no domain is given). */
  readonly point: Uint8Array;
}

/** Curve25519/Curve448 key-agreement key or Ed25519/Ed448 signature key. */
export interface CvcMontgomeryEdwardsPublicKey {
  readonly kind: "x25519" | "x448" | "ed25519" | "ed448";
  /** OID, id-RI-ECDH-SHA-256 in everything the SmartCard-HSM writes. */
  readonly oid: string;
  /** Raw public key (RFC 7748 u-coordinate or RFC 8032 encoded point). */
  readonly publicKey: Uint8Array;
}

/** Any public key a CVC can carry. */
export type CvcPublicKey = CvcRsaPublicKey | CvcEcPublicKey | CvcMontgomeryEdwardsPublicKey;

// Context-specific tags inside 7F49, named as OpenSC names them.
const TAG_PRIME_OR_MODULUS = 0x81;
const TAG_COEFFICIENT_A_OR_EXPONENT = 0x82;
const TAG_COEFFICIENT_B = 0x83;
const TAG_BASE_POINT = 0x84;
const TAG_ORDER = 0x85;
const TAG_PUBLIC_POINT = 0x86;
const TAG_COFACTOR = 0x87;

/** Per-curve constants of the X25519/X448/Ed25519/Ed448 layout. */
interface OctetCurve {
  readonly p: bigint;
  readonly n: bigint;
  readonly generator: Uint8Array;
  readonly publicKeyLength: number;
}

let octetCurves: Record<CvcMontgomeryEdwardsPublicKey["kind"], OctetCurve> | undefined;

function octetCurve(kind: CvcMontgomeryEdwardsPublicKey["kind"]): OctetCurve {
  octetCurves ??= buildOctetCurves();
  return octetCurves[kind];
}

function buildOctetCurves(): Record<CvcMontgomeryEdwardsPublicKey["kind"], OctetCurve> {
  const c25519 = ed25519.Point.CURVE();
  const c448 = ed448.Point.CURVE();
  const u = (value: number, length: number) => {
    const out = new Uint8Array(length);
    out[0] = value;
    return out;
  };

  return {
    x25519: { p: c25519.p, n: c25519.n, generator: u(9, 32), publicKeyLength: 32 },
    ed25519: { p: c25519.p, n: c25519.n, generator: ed25519.Point.BASE.toBytes(), publicKeyLength: 32 },
    x448: { p: c448.p, n: c448.n, generator: u(5, 56), publicKeyLength: 56 },
    ed448: { p: c448.p, n: c448.n, generator: ed448.Point.BASE.toBytes(), publicKeyLength: 57 },
  };
}

/** Encodes a public key as the complete 7F49 data object. */
export function encodeCvcPublicKey(key: CvcPublicKey): Uint8Array {
  const oid = encodeTlv(TAG_OID, encodeOid(key.oid));

  switch (key.kind) {
    case "rsa":
      return encodeTlv(TAG_PUBLIC_KEY, [oid, ...encodeRsa(key)]);
    case "ec":
      return encodeTlv(TAG_PUBLIC_KEY, [oid, ...encodeEc(key)]);
    case "x25519":
    case "x448":
    case "ed25519":
    case "ed448":
      return encodeTlv(TAG_PUBLIC_KEY, [oid, ...encodeOctetKey(key)]);
    default:
      throw new CvcError("invalid-argument", "publicKey.kind", `unknown key kind ${JSON.stringify((key as { kind: unknown }).kind)}; expected rsa, ec, x25519, x448, ed25519 or ed448`);
  }
}

function encodeRsa(key: CvcRsaPublicKey): Uint8Array[] {
  const modulus = stripLeadingZeros(key.modulus);
  const exponent = stripLeadingZeros(key.exponent);
  if (modulus.length === 0 || modulus[0] === 0) throw new CvcError("invalid-argument", "publicKey.modulus", "the modulus is zero or empty");
  if (exponent.length === 0 || exponent[0] === 0) throw new CvcError("invalid-argument", "publicKey.exponent", "the exponent is zero or empty");
  return [encodeTlv(TAG_PRIME_OR_MODULUS, modulus), encodeTlv(TAG_COEFFICIENT_A_OR_EXPONENT, exponent)];
}

function encodeEc(key: CvcEcPublicKey): Uint8Array[] {
  if (key.point.length === 0) throw new CvcError("invalid-argument", "publicKey.point", "empty public point");
  const point = encodeTlv(TAG_PUBLIC_POINT, key.point);
  if (key.domain === undefined) return [point];

  const domain = key.domain;
  const f = fieldLength(domain);
  splitUncompressedPoint(domain.G, f, "publicKey.domain.G");
  splitUncompressedPoint(key.point, f, "publicKey.point");

  return [
    encodeTlv(TAG_PRIME_OR_MODULUS, bigIntToBytes(domain.p, f, "publicKey.domain.p")),
    encodeTlv(TAG_COEFFICIENT_A_OR_EXPONENT, bigIntToBytes(modulo(domain.a, domain.p), f, "publicKey.domain.a")),
    encodeTlv(TAG_COEFFICIENT_B, bigIntToBytes(domain.b, f, "publicKey.domain.b")),
    encodeTlv(TAG_BASE_POINT, domain.G),
    encodeTlv(TAG_ORDER, bigIntToBytes(domain.n, Math.max(byteLength(domain.n), f), "publicKey.domain.n")),
    point,
    encodeTlv(TAG_COFACTOR, bigIntToBytes(domain.h, undefined, "publicKey.domain.h")),
  ];
}

function encodeOctetKey(key: CvcMontgomeryEdwardsPublicKey): Uint8Array[] {
  const curve = octetCurve(key.kind);
  if (key.publicKey.length !== curve.publicKeyLength) {
    throw new CvcError("invalid-argument", "publicKey.publicKey", `a ${key.kind} public key has ${curve.publicKeyLength} bytes, got ${key.publicKey.length}`);
  }

  const width = byteLength(curve.p);
  return [
    encodeTlv(TAG_PRIME_OR_MODULUS, bigIntToBytes(curve.p, width)),
    encodeTlv(TAG_COEFFICIENT_A_OR_EXPONENT, bigIntToBytes(curve.n, width)),
    encodeTlv(TAG_COEFFICIENT_B, curve.generator),
    encodeTlv(TAG_BASE_POINT, key.publicKey),
  ];
}

/**
 * Decodes a public key from the complete 7F49 data object or from its content
 * (which starts with the 06 OID). Values are copied, so the result does not
 * alias the input.
 */
export function decodeCvcPublicKey(bytes: Uint8Array): CvcPublicKey {
  const template = bytes[0] === TAG_OID ? encodeTlv(TAG_PUBLIC_KEY, bytes) : bytes;
  return decodePublicKeyTemplate(readOne(template, "7F49"));
}

/** Decodes an already parsed 7F49 data object. */
export function decodePublicKeyTemplate(template: Tlv, field = "7F49"): CvcPublicKey {
  if (template.tag !== TAG_PUBLIC_KEY) throw new CvcError("malformed", field, `expected tag 7F49, got ${template.tag.toString(16).toUpperCase()}`);

  const items = indexByTag(readChildren(template, field), [TAG_OID, TAG_PRIME_OR_MODULUS, TAG_COEFFICIENT_A_OR_EXPONENT, TAG_COEFFICIENT_B, TAG_BASE_POINT, TAG_ORDER, TAG_PUBLIC_POINT, TAG_COFACTOR], field);
  const oid = decodeOid(required(items, TAG_OID, field, "public-key OID").value, `${field}/06`);

  if (isRsaOid(oid)) return decodeRsa(items, oid, field);
  if (items.has(TAG_PUBLIC_POINT)) return decodeEc(items, oid, field);
  if (items.has(TAG_PRIME_OR_MODULUS) && items.has(TAG_BASE_POINT)) return decodeOctetKey(items, oid, field);

  const kind = isEcdsaOid(oid) ? "an id-TA-ECDSA key without public point 86" : `OID ${oid}`;
  throw new CvcError("unsupported", field, `cannot decode ${kind}`);
}

function decodeRsa(items: Map<number, Tlv>, oid: string, field: string): CvcRsaPublicKey {
  const modulus = required(items, TAG_PRIME_OR_MODULUS, field, "RSA modulus").value;
  const exponent = required(items, TAG_COEFFICIENT_A_OR_EXPONENT, field, "RSA public exponent").value;
  for (const tag of [TAG_COEFFICIENT_B, TAG_BASE_POINT, TAG_ORDER, TAG_PUBLIC_POINT, TAG_COFACTOR]) {
    if (items.has(tag)) throw new CvcError("malformed", `${field}/${tag.toString(16).toUpperCase()}`, "unexpected data object in an RSA key");
  }
  if (modulus.length === 0 || exponent.length === 0) throw new CvcError("malformed", field, "empty RSA modulus or exponent");
  return { kind: "rsa", oid, modulus: modulus.slice(), exponent: exponent.slice() };
}

function decodeEc(items: Map<number, Tlv>, oid: string, field: string): CvcEcPublicKey {
  const point = items.get(TAG_PUBLIC_POINT)!.value.slice();
  if (point.length === 0) throw new CvcError("malformed", `${field}/86`, "empty public point");

  const domainTags = [TAG_PRIME_OR_MODULUS, TAG_COEFFICIENT_A_OR_EXPONENT, TAG_COEFFICIENT_B, TAG_BASE_POINT, TAG_ORDER, TAG_COFACTOR];
  const present = domainTags.filter((tag) => items.has(tag));
  if (present.length === 0) return { kind: "ec", oid, point };
  if (present.length !== domainTags.length) {
    const missing = domainTags.filter((tag) => !items.has(tag)).map((tag) => tag.toString(16).toUpperCase());
    throw new CvcError("malformed", field, `incomplete EC domain parameters: missing ${missing.join(", ")}`);
  }

  const value = (tag: number) => items.get(tag)!.value;
  const domain: EcDomain = {
    p: bytesToBigInt(value(TAG_PRIME_OR_MODULUS)),
    a: bytesToBigInt(value(TAG_COEFFICIENT_A_OR_EXPONENT)),
    b: bytesToBigInt(value(TAG_COEFFICIENT_B)),
    G: value(TAG_BASE_POINT).slice(),
    n: bytesToBigInt(value(TAG_ORDER)),
    h: bytesToBigInt(value(TAG_COFACTOR)),
  };
  if (domain.p < 3n) throw new CvcError("malformed", `${field}/81`, "the field prime is missing or too small");
  return { kind: "ec", oid, domain, point };
}

function decodeOctetKey(items: Map<number, Tlv>, oid: string, field: string): CvcMontgomeryEdwardsPublicKey {
  const p = bytesToBigInt(items.get(TAG_PRIME_OR_MODULUS)!.value);
  const generator = items.get(TAG_COEFFICIENT_B)?.value;
  const publicKey = items.get(TAG_BASE_POINT)!.value.slice();
  if (generator === undefined) throw new CvcError("malformed", `${field}/83`, "missing generator, needed to tell X25519/X448 from Ed25519/Ed448");

  // The generator distinguishes the X form (u = 9 or 5, little-endian) from the Ed form.
  let kind: CvcMontgomeryEdwardsPublicKey["kind"];
  if (p === octetCurve("x25519").p) kind = generator[0] === 0x09 ? "x25519" : "ed25519";
  else if (p === octetCurve("x448").p) kind = generator[0] === 0x05 && generator.length <= 56 ? "x448" : "ed448";
  else throw new CvcError("unsupported", `${field}/81`, "a key without public point 86 must be on Curve25519 or Curve448");

  const expected = octetCurve(kind);
  if (publicKey.length !== expected.publicKeyLength) {
    throw new CvcError("malformed", `${field}/84`, `a ${kind} public key has ${expected.publicKeyLength} bytes, got ${publicKey.length}`);
  }
  if (!bytesEqual(generator, expected.generator) && !(kind.startsWith("x") && generator.length === 1)) {
    throw new CvcError("malformed", `${field}/83`, `unexpected ${kind} generator`);
  }
  return { kind, oid, publicKey };
}

function modulo(value: bigint, modulus: bigint): bigint {
  const rest = value % modulus;
  return rest < 0n ? rest + modulus : rest;
}
