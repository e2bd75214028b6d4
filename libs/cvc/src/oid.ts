/**
 * Object identifiers used in CVCs (BSI TR-03110 part 3, appendix A) and by the
 * SmartCard-HSM (CardContact arc 1.3.6.1.4.1.24991), with DER encoding of the
 * OID value (the bytes after tag 06 and its length).
 */

import { CvcError } from "./errors.ts";

const TA_RSA = "0.4.0.127.0.7.2.2.2.1";
const TA_ECDSA = "0.4.0.127.0.7.2.2.2.2";

/** Terminal authentication with RSA PKCS#1 v1.5 and SHA-1. */
export const ID_TA_RSA_V1_5_SHA_1 = `${TA_RSA}.1`;
/** Terminal authentication with RSA PKCS#1 v1.5 and SHA-256. */
export const ID_TA_RSA_V1_5_SHA_256 = `${TA_RSA}.2`;
/** Terminal authentication with RSA-PSS and SHA-1. */
export const ID_TA_RSA_PSS_SHA_1 = `${TA_RSA}.3`;
/** Terminal authentication with RSA-PSS and SHA-256. */
export const ID_TA_RSA_PSS_SHA_256 = `${TA_RSA}.4`;
/** Terminal authentication with RSA PKCS#1 v1.5 and SHA-512. */
export const ID_TA_RSA_V1_5_SHA_512 = `${TA_RSA}.5`;
/** Terminal authentication with RSA-PSS and SHA-512. */
export const ID_TA_RSA_PSS_SHA_512 = `${TA_RSA}.6`;

/** Terminal authentication with ECDSA and SHA-1. */
export const ID_TA_ECDSA_SHA_1 = `${TA_ECDSA}.1`;
/** Terminal authentication with ECDSA and SHA-224. */
export const ID_TA_ECDSA_SHA_224 = `${TA_ECDSA}.2`;
/** Terminal authentication with ECDSA and SHA-256. */
export const ID_TA_ECDSA_SHA_256 = `${TA_ECDSA}.3`;
/** Terminal authentication with ECDSA and SHA-384. */
export const ID_TA_ECDSA_SHA_384 = `${TA_ECDSA}.4`;
/** Terminal authentication with ECDSA and SHA-512. */
export const ID_TA_ECDSA_SHA_512 = `${TA_ECDSA}.5`;

/** Restricted identification with ECDH and SHA-256; the SmartCard-HSM labels Curve25519/448 and Ed25519/448 keys with it. */
export const ID_RI_ECDH_SHA_256 = "0.4.0.127.0.7.2.2.5.2.3";
/** Chip authentication with ECDH, AES-128 CBC and CMAC (secure messaging). */
export const ID_CA_ECDH_AES_CBC_CMAC_128 = "0.4.0.127.0.7.2.2.3.2.2";
/** Inspection system role (machine-readable travel documents), used in CHATs of the TR-03110 example PKI. */
export const ID_IS = "0.4.0.127.0.7.3.1.2.1";
/** Authentication terminal role, used in CHATs. */
export const ID_AT = "0.4.0.127.0.7.3.1.2.2";
/** CardContact SmartCard-HSM role, used in the CHAT of its root CVCA. */
export const ID_SC_HSM_ROLE = "1.3.6.1.4.1.24991.3.1.1";
/** SmartCard-HSM key-domain UID extension, carried by requests for XKEK exchange keys. */
export const ID_KEY_DOMAIN_UID = "1.3.6.1.4.1.24991.3.2.2";
/** SmartCard-HSM key-domain membership (KDM) format. */
export const ID_KEY_DOMAIN_MEMBERSHIP = "1.3.6.1.4.1.24991.4.2";

/** Hash algorithm names as WebCrypto spells them. */
export type HashName = "SHA-1" | "SHA-224" | "SHA-256" | "SHA-384" | "SHA-512";

/** Signature scheme selected by an id-TA OID. */
export interface SignatureScheme {
  readonly family: "rsa-v1_5" | "rsa-pss" | "ecdsa";
  readonly hash: HashName;
}

const SIGNATURE_SCHEMES: ReadonlyMap<string, SignatureScheme> = new Map([
  [ID_TA_RSA_V1_5_SHA_1, { family: "rsa-v1_5", hash: "SHA-1" }],
  [ID_TA_RSA_V1_5_SHA_256, { family: "rsa-v1_5", hash: "SHA-256" }],
  [ID_TA_RSA_V1_5_SHA_512, { family: "rsa-v1_5", hash: "SHA-512" }],
  [ID_TA_RSA_PSS_SHA_1, { family: "rsa-pss", hash: "SHA-1" }],
  [ID_TA_RSA_PSS_SHA_256, { family: "rsa-pss", hash: "SHA-256" }],
  [ID_TA_RSA_PSS_SHA_512, { family: "rsa-pss", hash: "SHA-512" }],
  [ID_TA_ECDSA_SHA_1, { family: "ecdsa", hash: "SHA-1" }],
  [ID_TA_ECDSA_SHA_224, { family: "ecdsa", hash: "SHA-224" }],
  [ID_TA_ECDSA_SHA_256, { family: "ecdsa", hash: "SHA-256" }],
  [ID_TA_ECDSA_SHA_384, { family: "ecdsa", hash: "SHA-384" }],
  [ID_TA_ECDSA_SHA_512, { family: "ecdsa", hash: "SHA-512" }],
] as const);

/** Returns the signature scheme an id-TA OID names, or undefined for any other OID. */
export function signatureSchemeOf(oid: string): SignatureScheme | undefined {
  return SIGNATURE_SCHEMES.get(oid);
}

/** Reports whether an OID is one of the id-TA-RSA OIDs. */
export function isRsaOid(oid: string): boolean {
  return oid.startsWith(`${TA_RSA}.`);
}

/** Reports whether an OID is one of the id-TA-ECDSA OIDs. */
export function isEcdsaOid(oid: string): boolean {
  return oid.startsWith(`${TA_ECDSA}.`);
}

const OID_NAMES: ReadonlyMap<string, string> = new Map([
  [ID_TA_RSA_V1_5_SHA_1, "id-TA-RSA-v1-5-SHA-1"],
  [ID_TA_RSA_V1_5_SHA_256, "id-TA-RSA-v1-5-SHA-256"],
  [ID_TA_RSA_V1_5_SHA_512, "id-TA-RSA-v1-5-SHA-512"],
  [ID_TA_RSA_PSS_SHA_1, "id-TA-RSA-PSS-SHA-1"],
  [ID_TA_RSA_PSS_SHA_256, "id-TA-RSA-PSS-SHA-256"],
  [ID_TA_RSA_PSS_SHA_512, "id-TA-RSA-PSS-SHA-512"],
  [ID_TA_ECDSA_SHA_1, "id-TA-ECDSA-SHA-1"],
  [ID_TA_ECDSA_SHA_224, "id-TA-ECDSA-SHA-224"],
  [ID_TA_ECDSA_SHA_256, "id-TA-ECDSA-SHA-256"],
  [ID_TA_ECDSA_SHA_384, "id-TA-ECDSA-SHA-384"],
  [ID_TA_ECDSA_SHA_512, "id-TA-ECDSA-SHA-512"],
  [ID_RI_ECDH_SHA_256, "id-RI-ECDH-SHA-256"],
  [ID_CA_ECDH_AES_CBC_CMAC_128, "id-CA-ECDH-AES-CBC-CMAC-128"],
  [ID_IS, "id-IS"],
  [ID_AT, "id-AT"],
  [ID_SC_HSM_ROLE, "id-SC-HSM-role"],
  [ID_KEY_DOMAIN_UID, "id-key-domain-UID"],
  [ID_KEY_DOMAIN_MEMBERSHIP, "id-key-domain-membership"],
] as const);

/** Returns the name of a known OID, else the dotted form itself. */
export function oidName(oid: string): string {
  return OID_NAMES.get(oid) ?? oid;
}

/**
 * Encodes a dotted OID into its DER value bytes (X.690 8.19): the first two arcs
 * combine into 40·a + b, each arc is base-128 with bit 8 set on all but its last byte.
 */
export function encodeOid(oid: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(oid)) {
    throw new CvcError("invalid-argument", "oid", `invalid OID ${JSON.stringify(oid)}: expected dotted decimal arcs such as 0.4.0.127.0.7.2.2.2.2.3`);
  }

  const arcs = oid.split(".").map((arc) => BigInt(arc));
  if (arcs[0] < 2n && arcs[1] > 39n) {
    throw new CvcError("invalid-argument", "oid", `invalid OID ${oid}: the second arc must be below 40 when the first is 0 or 1`);
  }

  const out: number[] = [];
  const values = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  for (const value of values) out.push(...base128(value));
  return Uint8Array.from(out);
}

function base128(value: bigint): number[] {
  const groups = [Number(value & 0x7fn)];
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
  return groups;
}

/** Decodes DER OID value bytes into the dotted form. */
export function decodeOid(bytes: Uint8Array, field = "06"): string {
  if (bytes.length === 0) throw new CvcError("malformed", field, "empty OID");
  if ((bytes[bytes.length - 1] & 0x80) !== 0) throw new CvcError("malformed", field, "OID ends inside an arc (last byte has bit 8 set)");

  const values: bigint[] = [];
  let current = 0n;
  let arcStart = true;
  for (const byte of bytes) {
    if (arcStart && byte === 0x80) throw new CvcError("malformed", field, "OID arc has a leading 80 byte (non-minimal encoding)");
    current = (current << 7n) | BigInt(byte & 0x7f);
    arcStart = (byte & 0x80) === 0;
    if (arcStart) {
      values.push(current);
      current = 0n;
    }
  }

  const first = values[0];
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...values.slice(1)].join(".");
}
