/**
 * CV certificates and requests, 7F21 { 7F4E body, 5F37 signature over the
 * complete 7F4E data object }. A request has the same shape without CHAT and
 * dates and is signed by the key it contains (proof of possession).
 */

import { decodeTlvs, encodeTlv, type Tlv } from "@hsmkit/tlv";
import { type CertificateBody, type CertificateBodyInput, decodeCertificateBody, encodeCertificateBody } from "./certificate-body.ts";
import { formatTagHex, rawBytes, readChildren, readOne } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import type { Signer } from "./signer.ts";
import { TAG_CERTIFICATE_BODY, TAG_CV_CERTIFICATE, TAG_SIGNATURE } from "./tags.ts";

/** A decoded CV certificate or request. */
export interface CvCertificate {
  readonly kind: "cv-certificate";
  readonly body: CertificateBody;
  /** The complete 7F4E data object exactly as received: the signed data. */
  readonly bodyBytes: Uint8Array;
  /** Raw signature from 5F37. */
  readonly signature: Uint8Array;
  /** The complete 7F21 data object (rebuilt around the content when only the content was given). */
  readonly encoded: Uint8Array;
}

/**
 * Signs a body and returns the complete 7F21 data object. `body` is either the
 * encoded 7F4E data object or the fields to encode.
 */
export async function signCertificate(body: Uint8Array | CertificateBodyInput, signer: Signer): Promise<Uint8Array> {
  const bodyBytes = body instanceof Uint8Array ? body : encodeCertificateBody(body);
  if (body instanceof Uint8Array) {
    const tlv = readOne(bodyBytes, "body");
    if (tlv.tag !== TAG_CERTIFICATE_BODY) throw new CvcError("invalid-argument", "body", `expected a 7F4E data object, got tag ${formatTagHex(tlv.tag)}`);
  }

  const signature = await signer(bodyBytes);
  return encodeTlv(TAG_CV_CERTIFICATE, [bodyBytes, encodeTlv(TAG_SIGNATURE, signature)]);
}

/**
 * Decodes one CV certificate or request: the complete 7F21 data object, or its
 * content 7F4E ‖ 5F37 (the form PSO VERIFY CERTIFICATE may carry).
 */
export function decodeCvCertificate(bytes: Uint8Array): CvCertificate {
  if (bytes.length === 0) throw new CvcError("malformed", "7F21", "empty input");

  if (bytes[0] === 0x7f && bytes[1] === 0x4e) {
    return decodeCertificateTlv(readOne(encodeTlv(TAG_CV_CERTIFICATE, bytes), "7F21"));
  }
  return decodeCertificateTlv(readOne(bytes, "7F21"));
}

/** Decodes a parsed 7F21 data object. */
export function decodeCertificateTlv(tlv: Tlv, field = "7F21"): CvCertificate {
  if (tlv.tag !== TAG_CV_CERTIFICATE) throw new CvcError("malformed", field, `expected tag 7F21, got ${formatTagHex(tlv.tag)}`);

  const items = readChildren(tlv, field);
  const [body, signature, ...rest] = items;
  if (body === undefined || body.tag !== TAG_CERTIFICATE_BODY) throw new CvcError("malformed", `${field}/7F4E`, "missing certificate body (must come first)");
  if (signature === undefined || signature.tag !== TAG_SIGNATURE) throw new CvcError("malformed", `${field}/5F37`, "missing signature after the body");
  if (rest.length > 0) throw new CvcError("malformed", `${field}/${formatTagHex(rest[0].tag)}`, "unexpected data object after the signature");
  if (signature.value.length === 0) throw new CvcError("malformed", `${field}/5F37`, "empty signature");

  return {
    kind: "cv-certificate",
    body: decodeCertificateBody(body, `${field}/7F4E`),
    bodyBytes: rawBytes(body).slice(),
    signature: signature.value.slice(),
    encoded: rawBytes(tlv).slice(),
  };
}

/**
 * Decodes concatenated 7F21 certificates, as EF 2F02 contains them
 * (device certificate ‖ [DV certificate] ‖ [root certificate]).
 */
export function decodeCvcChain(bytes: Uint8Array): CvCertificate[] {
  if (bytes.length === 0) throw new CvcError("malformed", "chain", "empty input");
  let items: Tlv[];
  try {
    items = decodeTlvs(bytes);
  } catch (error) {
    throw new CvcError("malformed", "chain", (error as Error).message);
  }
  return items.map((item, index) => decodeCertificateTlv(item, `chain[${index}]/7F21`));
}

/** Reports whether a decoded 7F21 is a request: no CHAT and no validity dates. */
export function isCertificateRequest(certificate: CvCertificate): boolean {
  const { chat, effectiveDate, expirationDate } = certificate.body;
  return chat === undefined && effectiveDate === undefined && expirationDate === undefined;
}
