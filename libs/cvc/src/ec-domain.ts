/**
 * Short-Weierstrass domain parameters (p, a, b, G, n, h) as CVC public keys carry
 * them in tags 81 to 85 and 87, and the noble curve that implements them.
 */

import { ecdsa, weierstrass, type ECDSA } from "@noble/curves/abstract/weierstrass.js";
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from "@noble/curves/misc.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bigIntToBytes, byteLength, bytesEqual, bytesToBigInt } from "./encoding.ts";
import { CvcError } from "./errors.ts";

/** Domain parameters of a curve y² = x³ + ax + b over GF(p). */
export interface EcDomain {
  /** Field prime. */
  readonly p: bigint;
  /** Coefficient a, reduced mod p (p − 3 for the NIST curves). */
  readonly a: bigint;
  /** Coefficient b. */
  readonly b: bigint;
  /** Base point, uncompressed: 04 ‖ x ‖ y with x and y each field-length bytes. */
  readonly G: Uint8Array;
  /** Order of the base point. */
  readonly n: bigint;
  /** Cofactor. */
  readonly h: bigint;
}

/** Anything with the noble v2 `Point.CURVE()` accessor, e.g. `p256` or `p256.Point`. */
export type NobleWeierstrassCurve =
  | { readonly Point: { CURVE(): NobleCurveParams } }
  | { CURVE(): NobleCurveParams };

interface NobleCurveParams {
  readonly p: bigint;
  readonly n: bigint;
  readonly h: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly Gx: bigint;
  readonly Gy: bigint;
}

/** Reads the domain parameters of a @noble/curves v2 short-Weierstrass curve. */
export function ecDomainFromNoble(curve: NobleWeierstrassCurve): EcDomain {
  const params = "Point" in curve ? curve.Point.CURVE() : curve.CURVE();
  const f = byteLength(params.p);

  const G = new Uint8Array(1 + 2 * f);
  G[0] = 0x04;
  G.set(bigIntToBytes(params.Gx, f), 1);
  G.set(bigIntToBytes(params.Gy, f), 1 + f);

  return { p: params.p, a: mod(params.a, params.p), b: params.b, G, n: params.n, h: params.h };
}

/** Returns the field length f in bytes, the width of p, a, b and each point coordinate. */
export function fieldLength(domain: EcDomain): number {
  return byteLength(domain.p);
}

/** Splits an uncompressed point 04 ‖ x ‖ y into its coordinates, checking the length against f. */
export function splitUncompressedPoint(point: Uint8Array, f: number, field: string): { x: bigint; y: bigint } {
  if (point.length !== 1 + 2 * f || point[0] !== 0x04) {
    throw new CvcError("invalid-argument", field, `expected an uncompressed point 04‖x‖y of ${1 + 2 * f} bytes, got ${point.length} bytes starting ${hexByte(point[0])}`);
  }
  return { x: bytesToBigInt(point.subarray(1, 1 + f)), y: bytesToBigInt(point.subarray(1 + f)) };
}

interface NamedCurve {
  readonly name: string;
  readonly domain: EcDomain;
  readonly ecdsa?: ECDSA;
}

const NOBLE_CURVES: ReadonlyArray<[string, ECDSA]> = [
  ["secp256r1", p256],
  ["secp384r1", p384],
  ["secp521r1", p521],
  ["secp256k1", secp256k1],
  ["brainpoolP256r1", brainpoolP256r1],
  ["brainpoolP384r1", brainpoolP384r1],
  ["brainpoolP512r1", brainpoolP512r1],
];

let namedCurves: NamedCurve[] | undefined;

function knownCurves(): NamedCurve[] {
  namedCurves ??= NOBLE_CURVES.map(([name, curve]) => ({ name, domain: ecDomainFromNoble(curve), ecdsa: curve }));
  return namedCurves;
}

/** Returns the name of a curve with these exact parameters (e.g. `secp256r1`), or undefined. */
export function ecCurveName(domain: EcDomain): string | undefined {
  return knownCurves().find((known) => sameDomain(known.domain, domain))?.name;
}

/** Reports whether two domains have the same parameters. */
export function sameDomain(x: EcDomain, y: EcDomain): boolean {
  return x.p === y.p && mod(x.a, x.p) === mod(y.a, y.p) && x.b === y.b && x.n === y.n && x.h === y.h && bytesEqual(x.G, y.G);
}

const builtCurves = new Map<string, ECDSA>();

/**
 * Returns an ECDSA implementation for the domain: the noble curve when the
 * parameters are those of a curve noble ships, else one built from the
 * parameters (noble checks that G lies on the curve).
 */
export function ecdsaForDomain(domain: EcDomain): ECDSA {
  const known = knownCurves().find((candidate) => sameDomain(candidate.domain, domain));
  if (known?.ecdsa) return known.ecdsa;

  const key = [domain.p, domain.a, domain.b, domain.n, domain.h, Array.from(domain.G).join(",")].join(":");
  const cached = builtCurves.get(key);
  if (cached) return cached;

  const { x, y } = splitUncompressedPoint(domain.G, fieldLength(domain), "domain.G");
  let built: ECDSA;
  try {
    const Point = weierstrass({ p: domain.p, n: domain.n, h: domain.h, a: mod(domain.a, domain.p), b: domain.b, Gx: x, Gy: y });
    built = ecdsa(Point, sha256);
  } catch (error) {
    throw new CvcError("invalid-argument", "domain", `the curve parameters are not usable: ${(error as Error).message}`);
  }
  builtCurves.set(key, built);
  return built;
}

function mod(value: bigint, modulus: bigint): bigint {
  const rest = value % modulus;
  return rest < 0n ? rest + modulus : rest;
}

function hexByte(byte: number | undefined): string {
  return byte === undefined ? "(nothing)" : byte.toString(16).toUpperCase().padStart(2, "0");
}
