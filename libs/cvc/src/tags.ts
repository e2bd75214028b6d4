/**
 * BER-TLV tags of BSI TR-03110 card-verifiable certificates (CVC) and the
 * SmartCard-HSM authenticated request.
 */

/** Authenticated request: inner request, outer CAR and outer signature. */
export const TAG_AUTHENTICATED_REQUEST = 0x67;
/** CV certificate or request: body and signature. */
export const TAG_CV_CERTIFICATE = 0x7f21;
/** Certificate body, the data the signature covers. */
export const TAG_CERTIFICATE_BODY = 0x7f4e;
/** Certificate profile identifier (CPI), always 0. */
export const TAG_PROFILE_IDENTIFIER = 0x5f29;
/** Certification authority reference (CAR): the CHR of the signing key. */
export const TAG_CAR = 0x42;
/** Public-key template. */
export const TAG_PUBLIC_KEY = 0x7f49;
/** Certificate holder reference (CHR): the name of the certified key. */
export const TAG_CHR = 0x5f20;
/** Certificate holder authorization template (CHAT): role OID and rights. */
export const TAG_CHAT = 0x7f4c;
/** Discretionary data inside the CHAT: the rights bit map. */
export const TAG_CHAT_RIGHTS = 0x53;
/** Certificate effective date, YYMMDD with one digit per byte. */
export const TAG_EFFECTIVE_DATE = 0x5f25;
/** Certificate expiration date, same encoding. */
export const TAG_EXPIRATION_DATE = 0x5f24;
/** Certificate extensions. */
export const TAG_EXTENSIONS = 0x65;
/** One discretionary-data template inside the extensions. */
export const TAG_EXTENSION = 0x73;
/** Signature. */
export const TAG_SIGNATURE = 0x5f37;
/** Object identifier. */
export const TAG_OID = 0x06;
