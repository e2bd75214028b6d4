/**
 * The certificate body 7F4E, the part a CVC signature covers. Element order is
 * fixed (BSI TR-03110 part 3, C.1); OpenSC reads the first four positionally:
 *
 *   7F4E {
 *     5F29 profile identifier (CPI, 00)
 *     42   CAR   certification authority reference, optional in requests
 *     7F49 public key
 *     5F20 CHR   certificate holder reference
 *     7F4C CHAT  certificates only
 *     5F25 effective date, 5F24 expiration date   certificates only
 *     65   extensions, optional
 *   }
 */

import { encodeTlv, type Tlv } from "@hsmkit/tlv";
import { type Chat, decodeChat, encodeChat } from "./chat.ts";
import { decodeCvcDate, encodeCvcDate } from "./cvc-date.ts";
import { decodeReference, encodeReference, formatTagHex, readChildren, required } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import { type CvcExtension, decodeExtensions, encodeExtensions } from "./extensions.ts";
import { type CvcPublicKey, decodePublicKeyTemplate, encodeCvcPublicKey } from "./public-key.ts";
import {
  TAG_CAR,
  TAG_CERTIFICATE_BODY,
  TAG_CHAT,
  TAG_CHR,
  TAG_EFFECTIVE_DATE,
  TAG_EXPIRATION_DATE,
  TAG_EXTENSIONS,
  TAG_PROFILE_IDENTIFIER,
  TAG_PUBLIC_KEY,
} from "./tags.ts";

/** The fields of a certificate body. */
export interface CertificateBody {
  /** Certificate profile identifier; 0 in every TR-03110 certificate. */
  readonly profileId: number;
  readonly car?: string;
  readonly publicKey: CvcPublicKey;
  readonly chr: string;
  readonly chat?: Chat;
  /** First valid day, midnight UTC. */
  readonly effectiveDate?: Date;
  /** Last valid day, midnight UTC; the certificate is valid through the end of that day. */
  readonly expirationDate?: Date;
  readonly extensions?: readonly CvcExtension[];
}

/** Input of encodeCertificateBody: the profile identifier defaults to 0. */
export type CertificateBodyInput = Omit<CertificateBody, "profileId"> & { readonly profileId?: number };

const BODY_ORDER = [
  TAG_PROFILE_IDENTIFIER,
  TAG_CAR,
  TAG_PUBLIC_KEY,
  TAG_CHR,
  TAG_CHAT,
  TAG_EFFECTIVE_DATE,
  TAG_EXPIRATION_DATE,
  TAG_EXTENSIONS,
] as const;

/** Encodes the complete 7F4E data object. */
export function encodeCertificateBody(body: CertificateBodyInput): Uint8Array {
  const profileId = body.profileId ?? 0;
  if (!Number.isInteger(profileId) || profileId < 0 || profileId > 255) {
    throw new CvcError("invalid-argument", "profileId", `profile identifier ${profileId} is not a byte value; TR-03110 uses 0`);
  }

  const parts: Uint8Array[] = [encodeTlv(TAG_PROFILE_IDENTIFIER, Uint8Array.of(profileId))];
  if (body.car !== undefined) parts.push(encodeTlv(TAG_CAR, encodeReference(body.car, "car")));
  parts.push(encodeCvcPublicKey(body.publicKey));
  parts.push(encodeTlv(TAG_CHR, encodeReference(body.chr, "chr")));
  if (body.chat !== undefined) parts.push(encodeChat(body.chat));
  if (body.effectiveDate !== undefined) parts.push(encodeTlv(TAG_EFFECTIVE_DATE, encodeCvcDate(body.effectiveDate, "effectiveDate")));
  if (body.expirationDate !== undefined) parts.push(encodeTlv(TAG_EXPIRATION_DATE, encodeCvcDate(body.expirationDate, "expirationDate")));
  if (body.extensions !== undefined && body.extensions.length > 0) parts.push(encodeExtensions(body.extensions));

  return encodeTlv(TAG_CERTIFICATE_BODY, parts);
}

/** Decodes a parsed 7F4E data object; elements must appear once each, in TR-03110 order. */
export function decodeCertificateBody(tlv: Tlv, field = "7F4E"): CertificateBody {
  if (tlv.tag !== TAG_CERTIFICATE_BODY) throw new CvcError("malformed", field, `expected tag 7F4E, got ${formatTagHex(tlv.tag)}`);
  const items = indexInOrder(readChildren(tlv, field), field);

  const profile = required(items, TAG_PROFILE_IDENTIFIER, field, "certificate profile identifier").value;
  if (profile.length !== 1) throw new CvcError("malformed", `${field}/5F29`, `the profile identifier has 1 byte, got ${profile.length}`);

  const car = items.get(TAG_CAR);
  const chat = items.get(TAG_CHAT);
  const effective = items.get(TAG_EFFECTIVE_DATE);
  const expiration = items.get(TAG_EXPIRATION_DATE);
  const extensions = items.get(TAG_EXTENSIONS);

  return {
    profileId: profile[0],
    ...(car && { car: decodeReference(car.value) }),
    publicKey: decodePublicKeyTemplate(required(items, TAG_PUBLIC_KEY, field, "public key"), `${field}/7F49`),
    chr: decodeReference(required(items, TAG_CHR, field, "certificate holder reference").value),
    ...(chat && { chat: decodeChat(chat, `${field}/7F4C`) }),
    ...(effective && { effectiveDate: decodeCvcDate(effective.value, `${field}/5F25`) }),
    ...(expiration && { expirationDate: decodeCvcDate(expiration.value, `${field}/5F24`) }),
    ...(extensions && { extensions: decodeExtensions(extensions, `${field}/65`) }),
  };
}

function indexInOrder(items: Tlv[], field: string): Map<number, Tlv> {
  const index = new Map<number, Tlv>();
  let last = -1;
  for (const item of items) {
    const position = (BODY_ORDER as readonly number[]).indexOf(item.tag);
    const name = `${field}/${formatTagHex(item.tag)}`;
    if (position < 0) throw new CvcError("malformed", name, "unexpected data object in a certificate body");
    if (position === last) throw new CvcError("malformed", name, "data object appears twice");
    if (position < last) throw new CvcError("malformed", name, `out of order: must come before ${formatTagHex(BODY_ORDER[last])}`);
    index.set(item.tag, item);
    last = position;
  }
  return index;
}
