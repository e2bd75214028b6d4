/**
 * Authenticated request (BSI TR-03110 part 3, C.2), the SmartCard-HSM's response to
 * GENERATE ASYMMETRIC KEY PAIR and the content of EF CE00:
 *
 *   67 {
 *     7F21 { 7F4E body, 5F37 inner signature by the key in the body }
 *     42   outer CAR: the reference of the key that made the outer signature
 *     5F37 outer signature over the complete 7F21 ‖ the complete 42 data objects
 *   }
 */

import { concatBytes, encodeTlv, type Tlv } from "@hsmkit/tlv";
import { type CvCertificate, decodeCertificateTlv } from "./certificate.ts";
import { decodeReference, encodeReference, formatTagHex, rawBytes, readChildren, readOne } from "./encoding.ts";
import { CvcError } from "./errors.ts";
import type { Signer } from "./signer.ts";
import { TAG_AUTHENTICATED_REQUEST, TAG_CAR, TAG_CV_CERTIFICATE, TAG_SIGNATURE } from "./tags.ts";

/** A decoded authenticated request. */
export interface AuthenticatedRequest {
  readonly kind: "authenticated-request";
  /** The inner request, self-signed by the key it contains. */
  readonly request: CvCertificate;
  readonly outerCar: string;
  readonly outerSignature: Uint8Array;
  /** The complete 7F21 and 42 data objects exactly as received: the data the outer signature covers. */
  readonly signedBytes: Uint8Array;
  /** The complete 67 data object (rebuilt around the content when only the content was given). */
  readonly encoded: Uint8Array;
}

/**
 * Wraps a signed request (the complete 7F21 data object) into an authenticated
 * request signed by `outerSigner`, whose key has the reference `outerCar`.
 */
export async function encodeAuthenticatedRequest(request: Uint8Array, outerCar: string, outerSigner: Signer): Promise<Uint8Array> {
  const inner = readOne(request, "request");
  if (inner.tag !== TAG_CV_CERTIFICATE) throw new CvcError("invalid-argument", "request", `expected a 7F21 data object, got tag ${formatTagHex(inner.tag)}`);

  const signed = concatBytes(request, encodeTlv(TAG_CAR, encodeReference(outerCar, "outerCar")));
  const signature = await outerSigner(signed);
  return encodeTlv(TAG_AUTHENTICATED_REQUEST, [signed, encodeTlv(TAG_SIGNATURE, signature)]);
}

/**
 * Decodes an authenticated request: the complete 67 data object, or its content
 * 7F21 ‖ 42 ‖ 5F37 (the form PUK AUTH carries).
 */
export function decodeAuthenticatedRequest(bytes: Uint8Array): AuthenticatedRequest {
  if (bytes.length === 0) throw new CvcError("malformed", "67", "empty input");
  const whole = bytes[0] === 0x7f ? encodeTlv(TAG_AUTHENTICATED_REQUEST, bytes) : bytes;
  return decodeAuthenticatedRequestTlv(readOne(whole, "67"));
}

/** Decodes a parsed 67 data object. */
export function decodeAuthenticatedRequestTlv(tlv: Tlv, field = "67"): AuthenticatedRequest {
  if (tlv.tag !== TAG_AUTHENTICATED_REQUEST) throw new CvcError("malformed", field, `expected tag 67, got ${formatTagHex(tlv.tag)}`);

  const [request, car, signature, ...rest] = readChildren(tlv, field);
  if (request === undefined || request.tag !== TAG_CV_CERTIFICATE) throw new CvcError("malformed", `${field}/7F21`, "missing inner request (must come first)");
  if (car === undefined || car.tag !== TAG_CAR) throw new CvcError("malformed", `${field}/42`, "missing outer CAR after the inner request");
  if (signature === undefined || signature.tag !== TAG_SIGNATURE) throw new CvcError("malformed", `${field}/5F37`, "missing outer signature after the outer CAR");
  if (rest.length > 0) throw new CvcError("malformed", `${field}/${formatTagHex(rest[0].tag)}`, "unexpected data object after the outer signature");
  if (signature.value.length === 0) throw new CvcError("malformed", `${field}/5F37`, "empty outer signature");

  return {
    kind: "authenticated-request",
    request: decodeCertificateTlv(request, `${field}/7F21`),
    outerCar: decodeReference(car.value),
    outerSignature: signature.value.slice(),
    signedBytes: concatBytes(rawBytes(request), rawBytes(car)),
    encoded: rawBytes(tlv).slice(),
  };
}
