/**
 * Certificate holder authorization template (CHAT), 7F4C { 06 role OID, 53 rights }.
 * The top two bits of the first rights byte give the holder's place in the PKI:
 * 11 CVCA (root), 10 DV official domestic, 01 DV non-official/foreign, 00 terminal.
 */

import { encodeTlv, type Tlv } from "@hsmkit/tlv";
import { indexByTag, readChildren, required } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import { decodeOid, encodeOid, ID_AT } from "./oid.ts";
import { TAG_CHAT, TAG_CHAT_RIGHTS, TAG_OID } from "./tags.ts";

/** A CHAT: the role OID and the rights bit map (discretionary data 53). */
export interface Chat {
  readonly role: string;
  readonly rights: Uint8Array;
}

/** The CHAT of the SmartCard-HSM device certificate: id-AT, terminal, no rights. */
export const DEVICE_CHAT: Chat = { role: ID_AT, rights: Uint8Array.of(0x00) };

/** Holder types named by the top two bits of the rights. */
export type ChatHolderType = "CVCA" | "DV (official domestic)" | "DV (non-official/foreign)" | "terminal";

/** Returns the holder type the rights bit map states. */
export function chatHolderType(chat: Chat): ChatHolderType {
  const bits = (chat.rights[0] ?? 0) >> 6;
  if (bits === 3) return "CVCA";
  if (bits === 2) return "DV (official domestic)";
  if (bits === 1) return "DV (non-official/foreign)";
  return "terminal";
}

/** Encodes the complete 7F4C data object. */
export function encodeChat(chat: Chat): Uint8Array {
  if (chat.rights.length === 0) throw new CvcError("invalid-argument", "chat.rights", "empty rights bit map; the device certificate uses 00");
  return encodeTlv(TAG_CHAT, [encodeTlv(TAG_OID, encodeOid(chat.role)), encodeTlv(TAG_CHAT_RIGHTS, chat.rights)]);
}

/** Decodes a parsed 7F4C data object. */
export function decodeChat(tlv: Tlv, field = "7F4C"): Chat {
  const items = indexByTag(readChildren(tlv, field), [TAG_OID, TAG_CHAT_RIGHTS], field);
  const role = decodeOid(required(items, TAG_OID, field, "role OID").value, `${field}/06`);
  const rights = required(items, TAG_CHAT_RIGHTS, field, "rights bit map").value.slice();
  return { role, rights };
}
