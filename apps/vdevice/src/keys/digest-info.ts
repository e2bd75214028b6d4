/**
 * The DER DigestInfo prefixes SIGNATURE algorithm 30 accepts (RFC 8017 §9.2
 * note 1): `30 L 30 L' 06 <hash OID> 05 00 04 <hLen>` followed by the hash.
 * The firmware matches each prefix byte for byte together with the exact
 * total length, so a DigestInfo without the NULL parameters is not accepted.
 */
import { concatBytes } from "@hsmkit/tlv";

interface DigestInfoForm {
  name: string;
  /** DER content of the hash algorithm's OID. */
  oid: Uint8Array;
  /** Hash length in bytes. */
  length: number;
}

const NIST_HASH_ARC = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

const FORMS: readonly DigestInfoForm[] = [
  // 1.2.840.113549.2.5
  { name: "MD5", oid: Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05), length: 16 },
  // 1.3.14.3.2.26
  { name: "SHA-1", oid: Uint8Array.of(0x2b, 0x0e, 0x03, 0x02, 0x1a), length: 20 },
  { name: "SHA-224", oid: Uint8Array.of(...NIST_HASH_ARC, 0x04), length: 28 },
  { name: "SHA-256", oid: Uint8Array.of(...NIST_HASH_ARC, 0x01), length: 32 },
  { name: "SHA-384", oid: Uint8Array.of(...NIST_HASH_ARC, 0x02), length: 48 },
  { name: "SHA-512", oid: Uint8Array.of(...NIST_HASH_ARC, 0x03), length: 64 },
  // 1.3.36.3.2.1
  { name: "RIPEMD-160", oid: Uint8Array.of(0x2b, 0x24, 0x03, 0x02, 0x01), length: 20 },
];

/** Returns the DER bytes that precede the hash in the DigestInfo of `form`. */
function prefixOf(form: DigestInfoForm): Uint8Array {
  const algorithm = Uint8Array.of(0x30, form.oid.length + 4, 0x06, form.oid.length, ...form.oid, 0x05, 0x00);
  const total = algorithm.length + 2 + form.length;
  return concatBytes(Uint8Array.of(0x30, total), algorithm, Uint8Array.of(0x04, form.length));
}

const PREFIXES = FORMS.map((form) => ({ name: form.name, prefix: prefixOf(form), length: form.length }));

/**
 * Returns the hash name of `data` when it is exactly one of the DigestInfo
 * forms above (prefix and hash length), else undefined.
 */
export function matchDigestInfo(data: Uint8Array): string | undefined {
  for (const { name, prefix, length } of PREFIXES) {
    if (data.length !== prefix.length + length) continue;
    if (prefix.every((byte, i) => data[i] === byte)) return name;
  }
  return undefined;
}
