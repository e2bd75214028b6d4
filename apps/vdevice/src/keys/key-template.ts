/**
 * The key-pair request of GENERATE ASYMMETRIC KEY PAIR: CV-certificate body
 * contents (5F29 CPI, 42 CAR, 7F49 public-key template, 5F20 CHR) at the top
 * level of the command data, walked the firmware's lenient way.
 *
 * 7F49 selects the key:
 *   RSA  06 id-TA-RSA-v1-5-SHA-256, optional 02 modulus bits (default 2048),
 *        optional 82 public exponent (default 65537, the only one accepted)
 *   EC   06 id-TA-ECDSA-SHA-256, 81 field prime (selects the curve); for the
 *        25519 and 448 primes the base point 83 picks X or Ed; the other domain
 *        parameters are ignored
 */
import { CardError, SW } from "@hsmkit/apdu";
import { encodeOid, ID_TA_ECDSA_SHA_256, ID_TA_RSA_V1_5_SHA_256 } from "@hsmkit/cvc";
import { curveByPrime, type CurveName } from "../crypto/curves.ts";
import { octetCurveByTemplate, type OctetCurveName } from "../crypto/octet-curves.ts";
import { RSA_MAX_BITS, RSA_MIN_BITS, RSA_PUBLIC_EXPONENT } from "../crypto/rsa.ts";
import { firstTlv, flatTlvs, type FlatTlv } from "../hsm/tlv-walk.ts";

export type KeyPairSpec = { type: "rsa"; bits: number } | { type: "ec"; curve: CurveName } | { type: "octet"; curve: OctetCurveName };

/** Public-key template of a CV certificate body. */
export const TAG_PUBLIC_KEY_TEMPLATE = 0x7f49;
/** Certification authority reference (CAR). */
export const TAG_CAR = 0x42;
/** Certificate holder reference (CHR). */
export const TAG_CHR = 0x5f20;

const TAG_OID = 0x06;
const TAG_RSA_BITS = 0x02;
const TAG_RSA_EXPONENT = 0x82;
const TAG_EC_PRIME = 0x81;
const TAG_EC_GENERATOR = 0x83;

const DEFAULT_RSA_BITS = 2048;

const RSA_OID = encodeOid(ID_TA_RSA_V1_5_SHA_256);
const ECDSA_OID = encodeOid(ID_TA_ECDSA_SHA_256);

/**
 * Reads the key type and size from the top-level 7F49 of the command data.
 * Throws CardError with
 *   6700  for a missing or empty 7F49, an EC template without 81, or a
 *         25519/448 template without 83
 *   6A81  for another OID or an unsupported prime
 *   6A80  for a public exponent other than 65537
 *   6400  for an RSA size outside 1024–4096 bits or not a multiple of 8 (a failed generation)
 */
export function parseKeyPairSpec(tlvs: FlatTlv[]): KeyPairSpec {
  const template = firstTlv(tlvs, TAG_PUBLIC_KEY_TEMPLATE);
  if (template === undefined || template.length === 0) {
    throw new CardError(SW.WRONG_LENGTH, "public-key template 7F49 is missing or empty");
  }

  const items = flatTlvs(template);
  const oid = firstTlv(items, TAG_OID);
  if (oid !== undefined && equalBytes(oid, RSA_OID)) return parseRsa(items);
  if (oid !== undefined && equalBytes(oid, ECDSA_OID)) return parseEc(items);

  // The firmware returns 9000 without creating a key here, but the device reports the OID as unsupported.
  throw new CardError(SW.FUNCTION_NOT_SUPPORTED, `7F49 OID ${oid ? hex(oid) : "(missing)"} is neither id-TA-RSA-v1-5-SHA-256 nor id-TA-ECDSA-SHA-256`);
}

function parseRsa(items: FlatTlv[]): KeyPairSpec {
  const exponent = firstTlv(items, TAG_RSA_EXPONENT);
  if (exponent !== undefined && exponent.length > 0 && toBigInt(exponent) !== RSA_PUBLIC_EXPONENT) {
    throw new CardError(SW.WRONG_DATA, `RSA public exponent ${hex(exponent)} is not supported: use 65537 (01 00 01)`);
  }

  const size = firstTlv(items, TAG_RSA_BITS);
  const bits = size !== undefined && size.length > 0 ? Number(toBigInt(size)) : DEFAULT_RSA_BITS;
  if (!Number.isSafeInteger(bits) || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 !== 0) {
    throw new CardError(
      SW.EXECUTION_ERROR,
      `RSA key generation failed: ${bits} bits is not a multiple of 8 from ${RSA_MIN_BITS} to ${RSA_MAX_BITS}`,
    );
  }
  return { type: "rsa", bits };
}

function parseEc(items: FlatTlv[]): KeyPairSpec {
  const prime = firstTlv(items, TAG_EC_PRIME);
  if (prime === undefined) throw new CardError(SW.WRONG_LENGTH, "EC key template without field prime 81");

  const octet = octetCurveByTemplate(prime, firstTlv(items, TAG_EC_GENERATOR));
  if (octet !== undefined) return { type: "octet", curve: octet };

  const curve = curveByPrime(prime);
  if (curve === undefined) throw new CardError(SW.FUNCTION_NOT_SUPPORTED, `no supported curve has the field prime ${hex(prime)}`);
  return { type: "ec", curve: curve.name };
}

/**
 * Returns the CAR (42) or CHR (5F20) of the command data as text, one
 * character per byte, or undefined when it is absent or empty.
 */
export function findReference(tlvs: FlatTlv[], tag: number): string | undefined {
  const value = findDeep(tlvs, tag);
  return value === undefined || value.length === 0 ? undefined : String.fromCharCode(...value);
}

/**
 * Returns the value of the first `tag` in depth-first order over `tlvs`,
 * descending into constructed data objects: the firmware's recursive lookup of
 * CAR and CHR.
 */
export function findDeep(tlvs: FlatTlv[], tag: number): Uint8Array | undefined {
  for (const tlv of tlvs) {
    if (tlv.tag === tag) return tlv.value;
    if (isConstructed(tlv.tag)) {
      const found = findDeep(flatTlvs(tlv.value), tag);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Bit 6 of the first tag byte marks a constructed data object (7F49, 7F4E, 65, 73). */
function isConstructed(tag: number): boolean {
  const first = tag > 0xff ? tag >> 8 : tag;
  return (first & 0x20) !== 0;
}

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function hex(bytes: Uint8Array): string {
  const text = Array.from(bytes.subarray(0, 16), (byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join("");
  return bytes.length > 16 ? `${text}…` : text;
}
