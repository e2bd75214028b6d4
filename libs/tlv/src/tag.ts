/**
 * BER-TLV tags as ISO/IEC 7816-4 uses them (from ISO/IEC 8825-1, X.690 8.1.2).
 *
 * A tag is handled as the number formed by its 1 to 3 bytes read big-endian, so
 * `0x5F20` is the two-byte tag 5F 20 and `0x9F8101` the three-byte tag 9F 81 01.
 * The first byte's low five bits are all set (1F) when more bytes follow; every
 * following byte except the last has bit 8 set. Bit 6 (0x20) of the first byte
 * marks a constructed data object, whose value is itself a sequence of TLVs.
 */

/** The largest number of tag bytes this library accepts. */
export const MAX_TAG_BYTES = 3;

/** Returns the number of bytes of a tag number (1 to 3), without validating it. */
export function tagByteCount(tag: number): number {
  if (tag > 0xffff) return 3;
  if (tag > 0xff) return 2;
  return 1;
}

/** Returns the first byte of a tag number. */
export function firstTagByte(tag: number): number {
  return (tag >>> (8 * (tagByteCount(tag) - 1))) & 0xff;
}

/** Reports whether a tag marks a constructed data object (bit 0x20 of its first byte). */
export function isConstructedTag(tag: number): boolean {
  return (firstTagByte(tag) & 0x20) !== 0;
}

/** Formats a tag as upper-case hex of its bytes, e.g. `7F49`. */
export function formatTag(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(2 * tagByteCount(tag), "0");
}

/**
 * Returns why a tag number is not a valid 1-3 byte BER-TLV tag, or undefined when
 * it is valid. First bytes 00 and FF are invalid because ISO 7816-4 uses them
 * as padding.
 */
export function describeInvalidTag(tag: number): string | undefined {
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffff) {
    return "a tag number must be an integer from 0x01 to 0xFFFFFF";
  }

  const bytes = tagBytesUnchecked(tag);
  const first = bytes[0];
  if (first === 0xff) return "first tag byte FF is reserved for padding";

  const multiByte = (first & 0x1f) === 0x1f;
  if (!multiByte) return bytes.length === 1 ? undefined : "only a first tag byte with low bits 1F is followed by more tag bytes";
  if (bytes.length === 1) return "a first tag byte with low bits 1F needs at least one more tag byte";

  if (bytes[1] === 0x80) return "the first subsequent tag byte must not be 80 (a leading zero)";
  for (let i = 1; i < bytes.length - 1; i++) {
    if ((bytes[i] & 0x80) === 0) return "a tag byte before the last must have bit 8 set";
  }
  if ((bytes[bytes.length - 1] & 0x80) !== 0) return "the last tag byte must have bit 8 clear";

  return undefined;
}

/** Encodes a tag number into its 1 to 3 bytes. Throws RangeError when the tag is invalid. */
export function encodeTag(tag: number): Uint8Array<ArrayBuffer> {
  const problem = describeInvalidTag(tag);
  if (problem !== undefined) throw new RangeError(`invalid tag ${describeNumber(tag)}: ${problem}`);
  return tagBytesUnchecked(tag);
}

function tagBytesUnchecked(tag: number): Uint8Array<ArrayBuffer> {
  const count = tagByteCount(tag);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (tag >>> (8 * (count - 1 - i))) & 0xff;
  return out;
}

function describeNumber(value: number): string {
  return Number.isInteger(value) && value >= 0 ? `0x${value.toString(16).toUpperCase()}` : String(value);
}
