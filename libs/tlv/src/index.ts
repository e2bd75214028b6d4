/**
 * @hsmkit/tlv: BER-TLV data objects as ISO/IEC 7816-4 smart cards use them
 * (1-3 byte tags, lengths up to form 84), with strict decoding.
 */
export { concatBytes, fromHex, toHex } from "./bytes.ts";
export { children, decodeTlv, decodeTlvs, iterateTlvs, type DecodeOptions, type Tlv } from "./decode.ts";
export { encodeTlv } from "./encode.ts";
export { TlvError } from "./errors.ts";
export { findTlv, findTlvDeep } from "./find.ts";
export { encodeLength, MAX_TLV_LENGTH } from "./length.ts";
export { describeInvalidTag, encodeTag, formatTag, isConstructedTag, MAX_TAG_BYTES, tagByteCount } from "./tag.ts";
