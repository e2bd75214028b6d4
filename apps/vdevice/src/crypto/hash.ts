/**
 * The hash functions the card computes itself (SIGNATURE algorithms 31–35, 41–45, 71–75) and the
 * DER DigestInfo structure that PKCS#1 v1.5 signatures and OpenSC's PSS requests carry.
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";

export type HashName = "SHA-1" | "SHA-224" | "SHA-256" | "SHA-384" | "SHA-512";

export const HASH_NAMES: readonly HashName[] = ["SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"];

interface HashAlgorithm {
  compute: (data: Uint8Array) => Uint8Array;
  /** Digest length in bytes. */
  length: number;
  /** DER content of the algorithm's OID (NIST or OIW arc). */
  oid: Uint8Array;
}

const ALGORITHMS: Record<HashName, HashAlgorithm> = {
  "SHA-1": { compute: sha1, length: 20, oid: Uint8Array.of(0x2b, 0x0e, 0x03, 0x02, 0x1a) },
  "SHA-224": { compute: sha224, length: 28, oid: nistHashOid(4) },
  "SHA-256": { compute: sha256, length: 32, oid: nistHashOid(1) },
  "SHA-384": { compute: sha384, length: 48, oid: nistHashOid(2) },
  "SHA-512": { compute: sha512, length: 64, oid: nistHashOid(3) },
};

/** DER content of 2.16.840.1.101.3.4.2.`last`, the NIST hash-algorithm arc. */
function nistHashOid(last: number): Uint8Array {
  return Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last);
}

/** Hashes `data` with the named algorithm. */
export function hash(name: HashName, data: Uint8Array): Uint8Array {
  return ALGORITHMS[name].compute(data);
}

/** Returns the digest length of `name` in bytes. */
export function hashLength(name: HashName): number {
  return ALGORITHMS[name].length;
}

/** Returns the SHA hash whose digest is `length` bytes long (20, 28, 32, 48 or 64). */
export function hashByLength(length: number): HashName | undefined {
  return HASH_NAMES.find((name) => ALGORITHMS[name].length === length);
}

/**
 * Encodes `digest` as DER `DigestInfo ::= SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING }`,
 * the form that PKCS#1 v1.5 signatures embed.
 */
export function encodeDigestInfo(name: HashName, digest: Uint8Array): Uint8Array {
  const { oid, length } = ALGORITHMS[name];
  if (digest.length !== length) throw new RangeError(`${name} digest must be ${length} bytes, got ${digest.length}`);

  const algorithm = Uint8Array.of(0x30, oid.length + 4, 0x06, oid.length, ...oid, 0x05, 0x00);
  const body = [...algorithm, 0x04, length, ...digest];
  return Uint8Array.of(0x30, body.length, ...body);
}

/**
 * Parses a DER DigestInfo for SHA-1 or SHA-2. The algorithm parameters may be NULL or absent
 * (RFC 8017 allows both), and the digest must have the hash's length.
 * Returns undefined for anything else, including trailing bytes.
 */
export function parseDigestInfo(der: Uint8Array): { hash: HashName; digest: Uint8Array } | undefined {
  const outer = readElement(der, 0, 0x30);
  if (outer === undefined || outer.end !== der.length) return undefined;

  const algorithm = readElement(der, outer.start, 0x30);
  if (algorithm === undefined) return undefined;
  const oid = readElement(der, algorithm.start, 0x06);
  if (oid === undefined) return undefined;
  const hasNull = oid.end + 2 === algorithm.end && der[oid.end] === 0x05 && der[oid.end + 1] === 0x00;
  if (oid.end !== algorithm.end && !hasNull) return undefined;

  const digest = readElement(der, algorithm.end, 0x04);
  if (digest === undefined || digest.end !== outer.end) return undefined;

  const oidBytes = der.subarray(oid.start, oid.end);
  const name = HASH_NAMES.find((candidate) => equalBytes(ALGORITHMS[candidate].oid, oidBytes));
  if (name === undefined || digest.end - digest.start !== ALGORITHMS[name].length) return undefined;
  return { hash: name, digest: der.slice(digest.start, digest.end) };
}

/** Locates one DER element with a one-byte tag and a short-form length (every DigestInfo fits). */
function readElement(der: Uint8Array, offset: number, tag: number): { start: number; end: number } | undefined {
  if (offset + 2 > der.length || der[offset] !== tag || der[offset + 1] > 0x7f) return undefined;
  const start = offset + 2;
  const end = start + der[offset + 1];
  return end <= der.length ? { start, end } : undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
