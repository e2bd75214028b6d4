/**
 * Certificate extensions (tag 65): a list of discretionary-data templates
 * 73 { 06 OID, context-specific data objects }.
 */

import { encodeTlv, type Tlv } from "@hsmkit/tlv";
import { readChildren } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import { decodeOid, encodeOid, ID_KEY_DOMAIN_UID } from "./oid.ts";
import { TAG_EXTENSION, TAG_EXTENSIONS, TAG_OID } from "./tags.ts";

/** One data object inside an extension, e.g. { tag: 0x80, value: uid }. */
export interface CvcExtensionObject {
  readonly tag: number;
  readonly value: Uint8Array;
}

/** One extension template. */
export interface CvcExtension {
  readonly oid: string;
  readonly objects: readonly CvcExtensionObject[];
}

/** Returns the SmartCard-HSM key-domain UID extension (XKEK exchange-key requests). */
export function keyDomainUidExtension(uid: Uint8Array): CvcExtension {
  return { oid: ID_KEY_DOMAIN_UID, objects: [{ tag: 0x80, value: uid }] };
}

/** Encodes the complete 65 data object. */
export function encodeExtensions(extensions: readonly CvcExtension[]): Uint8Array {
  const templates = extensions.map((extension) =>
    encodeTlv(TAG_EXTENSION, [encodeTlv(TAG_OID, encodeOid(extension.oid)), ...extension.objects.map((item) => encodeTlv(item.tag, item.value))]),
  );
  return encodeTlv(TAG_EXTENSIONS, templates);
}

/** Decodes a parsed 65 data object. */
export function decodeExtensions(tlv: Tlv, field = "65"): CvcExtension[] {
  return readChildren(tlv, field).map((template, index) => {
    const name = `${field}/73[${index}]`;
    if (template.tag !== TAG_EXTENSION) throw new CvcError("malformed", name, `expected tag 73, got ${template.tag.toString(16).toUpperCase()}`);

    const [oid, ...objects] = readChildren(template, name);
    if (oid === undefined || oid.tag !== TAG_OID) throw new CvcError("malformed", name, "an extension starts with its 06 OID");

    return {
      oid: decodeOid(oid.value, `${name}/06`),
      objects: objects.map((item) => ({ tag: item.tag, value: item.value.slice() })),
    };
  });
}
