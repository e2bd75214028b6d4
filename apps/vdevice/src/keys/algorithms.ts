/**
 * Algorithm identifier bytes of SIGNATURE (INS 68) and DECIPHER (INS 62): the
 * P2 values, also stored in a key's allowed-algorithm list (metadata tag 91).
 * Each byte maps to the scheme the handler runs.
 */
import type { HashName } from "../crypto/hash.ts";
import type { RsaDecryptScheme } from "../crypto/rsa.ts";

/** Algorithm identifier bytes, named as the SmartCard-HSM firmware names them. */
export const ALGORITHM = {
  /** RSA private-key operation on a k-byte block, no padding. */
  RSA_RAW: 0x20,
  RSA_DECRYPT_RAW: 0x21,
  RSA_DECRYPT_PKCS1: 0x22,
  /** RSA-OAEP with SHA-256 for the hash and MGF1, empty label. */
  RSA_DECRYPT_OAEP: 0x23,
  /** RSA PKCS#1 v1.5 over a DER DigestInfo the host supplies. */
  RSA_PKCS1: 0x30,
  RSA_PKCS1_SHA1: 0x31,
  RSA_PKCS1_SHA512: 0x35,
  /** RSA-PSS over a hash the host supplies (raw or as a DigestInfo). */
  RSA_PSS: 0x40,
  RSA_PSS_SHA1: 0x41,
  RSA_PSS_SHA512: 0x45,
  /** ECDSA over a hash the host supplies. */
  EC_RAW: 0x70,
  EC_SHA1: 0x71,
  EC_SHA512: 0x75,
  EC_DH: 0x80,
  /** ECDH with a peer certificate that carries a key-domain UID: imports the domain's DKEK. */
  EC_DH_XKEK: 0x84,
  /** ECDSA with the pending BIP32 / SLIP-10 node (HD key). */
  HD_SIGN: 0xa0,
} as const;

/** Hashes selected by the low digit of 31–35, 41–45 and 71–75. */
const HASH_BY_OFFSET: readonly HashName[] = ["SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"];

export type SignatureScheme =
  | { kind: "rsa-raw" }
  | { kind: "rsa-pkcs1-digest-info" }
  | { kind: "rsa-pkcs1"; hash: HashName }
  | { kind: "rsa-pss-digest" }
  | { kind: "rsa-pss"; hash: HashName }
  | { kind: "ecdsa-digest" }
  | { kind: "ecdsa"; hash: HashName }
  | { kind: "hd-ecdsa" };

export type DecipherScheme =
  | { kind: "rsa"; scheme: RsaDecryptScheme }
  | { kind: "ecdh" }
  | { kind: "ecdh-xkek" };

/** Returns the SIGNATURE scheme of algorithm byte `p2`, or undefined for a byte SIGNATURE does not define. */
export function signatureScheme(p2: number): SignatureScheme | undefined {
  if (p2 === ALGORITHM.RSA_RAW) return { kind: "rsa-raw" };
  if (p2 === ALGORITHM.RSA_PKCS1) return { kind: "rsa-pkcs1-digest-info" };
  if (p2 === ALGORITHM.RSA_PSS) return { kind: "rsa-pss-digest" };
  if (p2 === ALGORITHM.EC_RAW) return { kind: "ecdsa-digest" };
  if (p2 === ALGORITHM.HD_SIGN) return { kind: "hd-ecdsa" };

  const hashed = hashedFamily(p2);
  if (hashed === undefined) return undefined;
  return { kind: hashed.family, hash: hashed.hash };
}

function hashedFamily(p2: number): { family: "rsa-pkcs1" | "rsa-pss" | "ecdsa"; hash: HashName } | undefined {
  const ranges = [
    { first: ALGORITHM.RSA_PKCS1_SHA1, last: ALGORITHM.RSA_PKCS1_SHA512, family: "rsa-pkcs1" },
    { first: ALGORITHM.RSA_PSS_SHA1, last: ALGORITHM.RSA_PSS_SHA512, family: "rsa-pss" },
    { first: ALGORITHM.EC_SHA1, last: ALGORITHM.EC_SHA512, family: "ecdsa" },
  ] as const;

  const range = ranges.find(({ first, last }) => p2 >= first && p2 <= last);
  return range && { family: range.family, hash: HASH_BY_OFFSET[p2 - range.first] };
}

/** Returns the DECIPHER scheme of algorithm byte `p2`, or undefined for a byte DECIPHER does not define. */
export function decipherScheme(p2: number): DecipherScheme | undefined {
  switch (p2) {
    case ALGORITHM.RSA_DECRYPT_RAW:
      return { kind: "rsa", scheme: "raw" };
    case ALGORITHM.RSA_DECRYPT_PKCS1:
      return { kind: "rsa", scheme: "pkcs1" };
    case ALGORITHM.RSA_DECRYPT_OAEP:
      return { kind: "rsa", scheme: { oaep: "SHA-256" } };
    case ALGORITHM.EC_DH:
      return { kind: "ecdh" };
    case ALGORITHM.EC_DH_XKEK:
      return { kind: "ecdh-xkek" };
    default:
      return undefined;
  }
}

/** Reports whether a signature scheme needs an RSA key (the others need an EC key). */
export function isRsaSignature(scheme: SignatureScheme): boolean {
  return scheme.kind.startsWith("rsa");
}
