/**
 * The short-Weierstrass elliptic curves the card supports, keyed by their SEC 2 / RFC 5639 names.
 *
 * A GENERATE ASYMMETRIC KEY PAIR command names its curve only by the field prime (CV-certificate
 * public-key tag 81), so the table is also indexed by prime. Curves that @noble/curves ships are
 * taken from it. secp192r1 and secp192k1 are built with noble's generic `weierstrass` API from the
 * parameters published in SEC 2 version 2 (sections 2.2.1 and 2.2.2).
 */
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { ecdsa, weierstrass, type ECDSA } from "@noble/curves/abstract/weierstrass.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from "@noble/curves/misc.js";

// TODO: Curve25519/Ed25519 and Curve448/Ed448 (selected by prime plus base point) are not here yet.
export type CurveName =
  | "secp192r1"
  | "secp256r1"
  | "secp384r1"
  | "secp521r1"
  | "secp192k1"
  | "secp256k1"
  | "brainpoolP256r1"
  | "brainpoolP384r1"
  | "brainpoolP512r1";

/** One supported curve: its ECDSA instance, sizes in bytes and named-curve OID. */
export interface CurveInfo {
  name: CurveName;
  /** Length of a field element (x, y, p, a, b) in bytes. */
  fieldBytes: number;
  /** Length of a scalar (private key d, r, s) in bytes. */
  orderBytes: number;
  /** Bit length of the field prime; PKCS#11 and OpenSC call this the key size. */
  bits: number;
  curve: ECDSA;
  prime: bigint;
  /** Named-curve OID in dotted form. */
  oid: string;
}

/** Domain parameters as fixed-width big-endian bytes, the way CV certificates carry them. */
export interface CurveDomain {
  /** Field prime, fieldBytes long. */
  p: Uint8Array;
  /** Coefficient a reduced mod p, fieldBytes long. */
  a: Uint8Array;
  /** Coefficient b, fieldBytes long. */
  b: Uint8Array;
  /** Base point, uncompressed: 04 ‖ x ‖ y. */
  G: Uint8Array;
  /** Group order, max(orderBytes, fieldBytes) long. */
  n: Uint8Array;
  /** Cofactor, minimal big-endian (one byte for every supported curve). */
  h: Uint8Array;
}

// SEC 2 v2, 2.2.1: secp192k1, a Koblitz curve y² = x³ + 3.
const secp192k1 = ecdsa(
  weierstrass({
    p: 0xfffffffffffffffffffffffffffffffffffffffeffffee37n,
    n: 0xfffffffffffffffffffffffe26f2fc170f69466a74defd8dn,
    h: 1n,
    a: 0n,
    b: 3n,
    Gx: 0xdb4ff10ec057e9ae26b07d0280b7f4341da5d1b1eae06c7dn,
    Gy: 0x9b2f2f6d9c5628a7844163d015be86344082aa88d95e2f9dn,
  }),
  sha256,
);

// SEC 2 v2, 2.2.2: secp192r1 (NIST P-192, X9.62 prime192v1).
const secp192r1 = ecdsa(
  weierstrass({
    p: 0xfffffffffffffffffffffffffffffffeffffffffffffffffn,
    n: 0xffffffffffffffffffffffff99def836146bc9b1b4d22831n,
    h: 1n,
    a: 0xfffffffffffffffffffffffffffffffefffffffffffffffcn,
    b: 0x64210519e59c80e70fa7e9ab72243049feb8deecc146b9b1n,
    Gx: 0x188da80eb03090f67cbf20eb43a18800f4ff0afd82ff1012n,
    Gy: 0x07192b95ffc8da78631011ed6b24cdd573f977a11e794811n,
  }),
  sha256,
);

function describe(name: CurveName, curve: ECDSA, oid: string): CurveInfo {
  const params = curve.Point.CURVE();
  const fieldBytes = curve.Point.Fp.BYTES;
  const orderBytes = curve.Point.Fn.BYTES;
  return { name, fieldBytes, orderBytes, bits: curve.Point.Fp.BITS, curve, prime: params.p, oid };
}

const CURVES: readonly CurveInfo[] = [
  describe("secp192r1", secp192r1, "1.2.840.10045.3.1.1"),
  describe("secp256r1", p256, "1.2.840.10045.3.1.7"),
  describe("secp384r1", p384, "1.3.132.0.34"),
  describe("secp521r1", p521, "1.3.132.0.35"),
  describe("secp192k1", secp192k1, "1.3.132.0.31"),
  describe("secp256k1", secp256k1, "1.3.132.0.10"),
  describe("brainpoolP256r1", brainpoolP256r1, "1.3.36.3.3.2.8.1.1.7"),
  describe("brainpoolP384r1", brainpoolP384r1, "1.3.36.3.3.2.8.1.1.11"),
  describe("brainpoolP512r1", brainpoolP512r1, "1.3.36.3.3.2.8.1.1.13"),
];

/** Every supported curve, in the order above (NIST and SEC curves first). */
export const SUPPORTED_CURVES: readonly CurveName[] = CURVES.map((info) => info.name);

const BY_NAME = new Map(CURVES.map((info) => [info.name, info]));
const BY_PRIME = new Map(CURVES.map((info) => [info.prime, info]));

/** Returns the curve called `name`; throws a TypeError for a name outside {@link CurveName}. */
export function curveByName(name: CurveName): CurveInfo {
  const info = BY_NAME.get(name);
  if (info === undefined) throw new TypeError(`unknown curve name: ${String(name)}`);
  return info;
}

/** Returns the curve whose field prime is `p` (bytes are big-endian, leading zeros allowed). */
export function curveByPrime(p: bigint | Uint8Array): CurveInfo | undefined {
  const prime = typeof p === "bigint" ? p : bytesToBigInt(p);
  return BY_PRIME.get(prime);
}

/**
 * Returns the default curve for a key size in bits, as PKCS#11 callers give it: the NIST curve
 * for 192, 256, 384 and 521 bits, brainpoolP512r1 for 512 bits.
 */
export function curveByBits(bits: number): CurveInfo | undefined {
  return CURVES.find((info) => info.bits === bits);
}

/** Returns the curve's domain parameters in the fixed widths of CV-certificate tags 81 to 87. */
export function curveDomain(name: CurveName): CurveDomain {
  const info = curveByName(name);
  const params = info.curve.Point.CURVE();
  const f = info.fieldBytes;
  const base = info.curve.Point.BASE.toBytes(false);
  return {
    p: bigIntToBytes(params.p, f),
    a: bigIntToBytes(mod(params.a, params.p), f),
    b: bigIntToBytes(params.b, f),
    G: base,
    n: bigIntToBytes(params.n, Math.max(info.orderBytes, f)),
    h: bigIntToBytes(params.h, 1),
  };
}

/** Encodes a dotted OID as DER content bytes (without tag 06 and length). */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new RangeError(`invalid OID: ${dotted}`);
  const out: number[] = [];
  const values = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  for (const value of values) {
    const base128: number[] = [Number(value & 0x7fn)];
    for (let rest = value >> 7n; rest > 0n; rest >>= 7n) base128.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...base128);
  }
  return Uint8Array.from(out);
}

/** Returns the curve whose named-curve OID has the DER content bytes `oid`. */
export function curveByOid(oid: Uint8Array): CurveInfo | undefined {
  return CURVES.find((info) => equalBytes(encodeOid(info.oid), oid));
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Encodes `value` big-endian in exactly `length` bytes; throws a RangeError if it does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new RangeError("negative integer cannot be encoded");
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (rest !== 0n) throw new RangeError(`integer does not fit in ${length} bytes`);
  return out;
}

function mod(value: bigint, modulus: bigint): bigint {
  const r = value % modulus;
  return r < 0n ? r + modulus : r;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
