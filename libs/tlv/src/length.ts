/**
 * BER-TLV length field. The short form is one byte 00..7F. The long form is 81..84
 * followed by 1 to 4 length bytes (big-endian). This library neither writes nor
 * accepts the indefinite form 80 or the forms 85 and above.
 */

/** The largest length the long form 84 can carry. */
export const MAX_TLV_LENGTH = 0xffffffff;

/** Encodes a value length in the shortest form. Throws RangeError beyond 0xFFFFFFFF. */
export function encodeLength(length: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(length) || length < 0 || length > MAX_TLV_LENGTH) {
    throw new RangeError(`invalid TLV length ${length}: must be an integer from 0 to ${MAX_TLV_LENGTH}`);
  }
  if (length < 0x80) return Uint8Array.of(length);

  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}
