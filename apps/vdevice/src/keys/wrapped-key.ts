/**
 * Conversion between the device's stored keys and the components of a
 * SmartCard-HSM key blob (`KeyBlobKey` of @hsmkit/keystore): what WRAP KEY
 * encodes and what UNWRAP KEY rebuilds.
 *
 * A type-05 RSA blob carries only d, n and e, so UNWRAP recovers p and q from
 * them with the method of NIST SP 800-56B rev. 2, appendix C.2. Every key a blob yields is checked
 * for consistency before it is stored: RSA p·q = n and e·d ≡ 1 mod λ(n), EC
 * d in [1, n − 1] and Q = d·G when the blob carries Q.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { KeyBlobKey } from "@hsmkit/keystore";
import { invert, pow } from "@noble/curves/abstract/modular.js";
import { bigIntToBytes, bytesToBigInt, curveByName, curveByPrime, curveDomain, type CurveName } from "../crypto/curves.ts";
import { ecPublicPoint, type EcPrivateKey } from "../crypto/ec.ts";
import { RSA_MAX_BITS, RSA_MIN_BITS, type RsaPrivateKey } from "../crypto/rsa.ts";
import type { KeyInfo, KeyType } from "../hsm/key-info.ts";

/** A key rebuilt from a blob, in the form the device stores. */
export type UnwrappedKey =
  | { type: "rsa"; key: RsaPrivateKey }
  | { type: "ec"; key: EcPrivateKey; publicPoint: Uint8Array }
  | { type: "aes"; key: Uint8Array };

/** Returns the blob components of an RSA key (type 05: d, n, e). */
export function rsaBlobKey(key: RsaPrivateKey): KeyBlobKey {
  const length = Math.ceil(key.n.toString(16).length / 2);
  return { type: "rsa", d: bigIntToBytes(key.d, length), n: bigIntToBytes(key.n, length), e: minimalBytes(key.e) };
}

/** Returns the blob components of an EC key: the curve's A, B, P, N, G, then d and the public point Q. */
export function ecBlobKey(key: EcPrivateKey, publicPoint: Uint8Array): KeyBlobKey {
  const info = curveByName(key.curve);
  const domain = curveDomain(key.curve);
  return {
    type: "ec",
    fieldBits: 8 * info.fieldBytes,
    a: domain.a,
    b: domain.b,
    p: domain.p,
    n: domain.n,
    g: domain.G,
    d: key.d,
    q: publicPoint,
  };
}

/**
 * Rebuilds a storable key from blob components. Throws CardError 6984
 * (reference data not usable) for an unsupported size or curve and for
 * components that do not form a consistent key.
 */
export function unwrappedKeyOf(blobKey: KeyBlobKey): UnwrappedKey {
  switch (blobKey.type) {
    case "rsa":
      return { type: "rsa", key: rsaFromPrivateExponent(bytesToBigInt(blobKey.n), bytesToBigInt(blobKey.e), bytesToBigInt(blobKey.d)) };
    case "rsa-crt":
      return { type: "rsa", key: rsaFromPrimes(bytesToBigInt(blobKey.p), bytesToBigInt(blobKey.q), bytesToBigInt(blobKey.e)) };
    case "ec":
      return ecFromBlob(blobKey);
    case "aes":
      return { type: "aes", key: blobKey.key.slice() };
  }
}

/** Returns the public description of an unwrapped key under `id` (metadata left to the caller). */
export function keyInfoOf(id: number, key: UnwrappedKey): Omit<KeyInfo, "meta"> {
  if (key.type === "rsa") {
    const bits = key.key.n.toString(2).length;
    return { id, type: "rsa", bits, publicKey: bigIntToBytes(key.key.n, Math.ceil(bits / 8)), publicExponent: minimalBytes(key.key.e) };
  }
  if (key.type === "ec") {
    const { orderBytes } = curveByName(key.key.curve);
    return { id, type: "ec", curve: key.key.curve, bits: 8 * orderBytes, publicKey: key.publicPoint };
  }
  return { id, type: "aes" satisfies KeyType, bits: 8 * key.key.length };
}

// --- RSA ---------------------------------------------------------------------

/** Attempts of the factoring loop; each succeeds with probability at least 1/2 for a valid key. */
const FACTOR_ATTEMPTS = 100;

function rsaFromPrivateExponent(n: bigint, e: bigint, d: bigint): RsaPrivateKey {
  checkRsaModulus(n);
  if (e < 3n || d < 2n || d >= n) throw unusable("RSA blob: e or d out of range");

  // k = e·d − 1 is a multiple of λ(n). Write k = 2^t · r with r odd; for a random g, some
  // g^(r·2^i) is a square root of 1 other than ±1, and gcd(that − 1, n) is a prime factor.
  const k = e * d - 1n;
  let r = k;
  let t = 0;
  while ((r & 1n) === 0n) {
    r >>= 1n;
    t++;
  }
  if (t === 0) throw unusable("RSA blob: e·d − 1 is odd, so d is not the private exponent of e");

  for (let attempt = 0; attempt < FACTOR_ATTEMPTS; attempt++) {
    const g = 2n + BigInt(attempt);
    let y = pow(g, r, n);
    if (y === 1n || y === n - 1n) continue;
    for (let i = 1; i <= t; i++) {
      const x = (y * y) % n;
      if (x === 1n) return rsaFromPrimes(gcd(y - 1n, n), n / gcd(y - 1n, n), e, d);
      if (x === n - 1n) break;
      y = x;
    }
  }
  throw unusable("RSA blob: d, n and e do not form a key (n could not be factored)");
}

function rsaFromPrimes(p: bigint, q: bigint, e: bigint, expectedD?: bigint): RsaPrivateKey {
  if (p < 2n || q < 2n || p === q) throw unusable("RSA blob: invalid primes");
  const n = p * q;
  checkRsaModulus(n);

  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  if (gcd(e, lambda) !== 1n) throw unusable("RSA blob: e is not invertible modulo λ(n)");
  const d = expectedD ?? invert(e, lambda);
  if ((e * d) % lambda !== 1n) throw unusable("RSA blob: e·d is not 1 modulo λ(n)");

  // Order the primes as key generation does (p > q), so qi = q⁻¹ mod p.
  const [big, small] = p > q ? [p, q] : [q, p];
  return { n, e, d, p: big, q: small, dp: d % (big - 1n), dq: d % (small - 1n), qi: invert(small, big) };
}

function checkRsaModulus(n: bigint): void {
  const bits = n.toString(2).length;
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
    throw unusable(`RSA blob: modulus of ${bits} bits, supported are ${RSA_MIN_BITS} to ${RSA_MAX_BITS}`);
  }
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

// --- EC ----------------------------------------------------------------------

function ecFromBlob(blobKey: Extract<KeyBlobKey, { type: "ec" }>): UnwrappedKey {
  const info = curveByPrime(blobKey.p);
  if (info === undefined) throw unusable("EC blob: the field prime names no supported curve");

  const scalar = bytesToBigInt(blobKey.d);
  if (scalar >= 1n << BigInt(8 * info.orderBytes)) throw unusable(`EC blob: d out of range on ${info.name}`);
  const d = bigIntToBytes(scalar, info.orderBytes);
  if (!info.curve.utils.isValidSecretKey(d)) throw unusable(`EC blob: d out of range on ${info.name}`);
  const key: EcPrivateKey = { curve: info.name as CurveName, d };
  const publicPoint = ecPublicPoint(key);

  if (blobKey.q.length > 0 && !sameBytes(blobKey.q, publicPoint)) throw unusable(`EC blob: Q is not d·G on ${info.name}`);
  return { type: "ec", key, publicPoint };
}

// --- helpers -----------------------------------------------------------------

function minimalBytes(value: bigint): Uint8Array {
  return bigIntToBytes(value, Math.max(1, Math.ceil(value.toString(16).length / 2)));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function unusable(message: string): CardError {
  return new CardError(SW.REFERENCE_DATA_NOT_USABLE, message);
}
