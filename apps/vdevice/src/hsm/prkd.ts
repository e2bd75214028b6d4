/**
 * The default PKCS#15 key description (PRKD) the card writes to C4 n when it
 * stores key n. Layout, as the firmware writes it:
 *
 *   TT LL                                 30 RSA, A0 EC (PrivateKeyObject), A8 AES (SecretKeyObject)
 *     30 { 0C label }                     CommonObjectAttributes
 *     30 { 04 id, 03 usage }              CommonKeyAttributes
 *     [AES] A0 { 30 { 02 02 bits } }      CommonSecretKeyAttributes: keyLen
 *     A1 { 30 { 30 { 04 00 } [02 02 bits] } }   type attributes: empty path, size (RSA/EC)
 *
 * The bit count is always encoded in 2 bytes.
 */
import { concatBytes, encodeTlv } from "@hsmkit/tlv";
import type { KeyType } from "./key-info.ts";

/** Key usage BIT STRINGs (value bytes) per key type. */
const USAGE: Record<KeyType, Uint8Array> = {
  rsa: new Uint8Array([0x02, 0x74]),
  ec: new Uint8Array([0x07, 0x20, 0x80]),
  aes: new Uint8Array([0x07, 0xc0, 0x10]),
};

const OBJECT_TAG: Record<KeyType, number> = { rsa: 0x30, ec: 0xa0, aes: 0xa8 };

export interface PrkdFields {
  type: KeyType;
  /** RSA modulus bits, EC 8 × scalar bytes, AES 8 × key bytes. */
  bits: number;
  /** PKCS#15 iD. */
  id: Uint8Array;
  /** PKCS#15 label; empty for user keys. */
  label: string;
}

export function encodePrkd(fields: PrkdFields): Uint8Array {
  const bits = new Uint8Array([(fields.bits >> 8) & 0xff, fields.bits & 0xff]);
  const label = new TextEncoder().encode(fields.label);

  const commonObject = encodeTlv(0x30, encodeTlv(0x0c, label));
  const commonKey = encodeTlv(0x30, [encodeTlv(0x04, fields.id), encodeTlv(0x03, USAGE[fields.type])]);
  const emptyPath = encodeTlv(0x30, encodeTlv(0x04, new Uint8Array(0)));

  const parts = [commonObject, commonKey];
  if (fields.type === "aes") {
    parts.push(encodeTlv(0xa0, encodeTlv(0x30, encodeTlv(0x02, bits))));
    parts.push(encodeTlv(0xa1, encodeTlv(0x30, emptyPath)));
  } else {
    parts.push(encodeTlv(0xa1, encodeTlv(0x30, [emptyPath, encodeTlv(0x02, bits)])));
  }

  return encodeTlv(OBJECT_TAG[fields.type], concatBytes(...parts));
}

/** Returns the default PRKD of user key `keyId` (1..255): empty label, iD = the id in ASCII decimal. */
export function defaultPrkd(keyId: number, type: KeyType, bits: number): Uint8Array {
  return encodePrkd({ type, bits, id: new TextEncoder().encode(String(keyId)), label: "" });
}

/** Label of the device key's PRKD (C400). */
export const DEVICE_KEY_LABEL = "ESPICOHSMTR";

/** Returns the PRKD of the device key: label ESPICOHSMTR, iD = 20 zero bytes, EC 256 bits. */
export function deviceKeyPrkd(): Uint8Array {
  return encodePrkd({ type: "ec", bits: 256, id: new Uint8Array(20), label: DEVICE_KEY_LABEL });
}
