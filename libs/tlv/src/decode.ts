/**
 * Strict BER-TLV decoding for ISO/IEC 7816-4 data objects.
 *
 * Rejected with TlvError: truncated input, a value that overruns its parent,
 * the indefinite length 80, length forms 85 and above, tags longer than 3 bytes,
 * padding bytes 00/FF (unless `allowPadding` is set) and trailing bytes after
 * `decodeTlv`'s single object. Long-form lengths that are not minimal (81 05)
 * are accepted, as BER allows.
 */
import { TlvError } from "./errors.ts";
import { MAX_TAG_BYTES } from "./tag.ts";

/** One decoded BER-TLV data object. */
export interface Tlv {
  /** Tag bytes read big-endian, e.g. 0x7F49. */
  tag: number;
  /** Bit 0x20 of the first tag byte: the value is a sequence of TLVs. */
  constructed: boolean;
  /** The value bytes, a view into the decoded buffer (not a copy). */
  value: Uint8Array;
  /** Position of the first tag byte within the buffer the decoding started from. */
  offset: number;
  /** Tag, length and value bytes together. */
  encodedLength: number;
}

/** Options for decoding a sequence of data objects. */
export interface DecodeOptions {
  /**
   * Skip 00 and FF bytes before, between and after data objects, as ISO 7816-4
   * permits in some files. Off by default, so such bytes are TlvErrors.
   */
  allowPadding?: boolean;
}

/** Decodes every top-level data object. Any malformed byte throws TlvError. */
export function decodeTlvs(data: Uint8Array, options: DecodeOptions = {}): Tlv[] {
  return [...iterateTlvs(data, options)];
}

/**
 * Yields the top-level data objects one at a time. A malformed object throws
 * TlvError when the iteration reaches it, after the valid ones before it.
 */
export function* iterateTlvs(data: Uint8Array, options: DecodeOptions = {}): Generator<Tlv> {
  yield* readSequence(data, 0, false, options);
}

/** Decodes exactly one data object. Bytes after it throw TlvError. */
export function decodeTlv(data: Uint8Array): Tlv {
  if (data.length === 0) throw new TlvError("empty input, expected one data object", 0);

  const tlv = readDataObject(data, 0, 0, false);
  if (tlv.encodedLength < data.length) {
    const extra = data.length - tlv.encodedLength;
    throw new TlvError(`${extra} unexpected byte(s) after the data object that starts at offset 0`, tlv.encodedLength);
  }
  return tlv;
}

/**
 * Decodes the value of a constructed data object. The children's offsets are
 * positions in the same buffer as the parent's offset.
 */
export function children(tlv: Tlv, options: DecodeOptions = {}): Tlv[] {
  if (!tlv.constructed) {
    throw new TlvError("a primitive data object has no children (bit 0x20 of its first tag byte is clear)", tlv.offset, tlv.tag);
  }
  const valueOffset = tlv.offset + tlv.encodedLength - tlv.value.length;
  return [...readSequence(tlv.value, valueOffset, true, options)];
}

function* readSequence(data: Uint8Array, base: number, withinParent: boolean, options: DecodeOptions): Generator<Tlv> {
  let position = 0;
  while (position < data.length) {
    if (options.allowPadding && isPaddingByte(data[position])) {
      position++;
      continue;
    }

    const tlv = readDataObject(data, position, base, withinParent);
    yield tlv;
    position += tlv.encodedLength;
  }
}

/**
 * Reads the data object at `start`. `base` is added to every reported offset, and
 * `withinParent` selects the wording for values that do not fit.
 */
function readDataObject(data: Uint8Array, start: number, base: number, withinParent: boolean): Tlv {
  const offset = base + start;

  const { tag, length: tagLength } = readTag(data, start, offset);
  const constructed = (data[start] & 0x20) !== 0;

  const lengthStart = start + tagLength;
  const { valueLength, length: lengthFieldLength } = readLength(data, lengthStart, offset, tag);

  const valueStart = lengthStart + lengthFieldLength;
  const available = data.length - valueStart;
  if (valueLength > available) {
    const detail = withinParent
      ? `length ${valueLength} overruns its parent, which has only ${available} byte(s) left for the value`
      : `truncated: length ${valueLength} but only ${available} byte(s) of value follow`;
    throw new TlvError(detail, offset, tag);
  }

  return {
    tag,
    constructed,
    value: data.subarray(valueStart, valueStart + valueLength),
    offset,
    encodedLength: tagLength + lengthFieldLength + valueLength,
  };
}

function readTag(data: Uint8Array, start: number, offset: number): { tag: number; length: number } {
  const first = data[start];
  if (isPaddingByte(first)) {
    throw new TlvError(`tag byte ${hexByte(first)} is padding, which is not allowed here`, offset);
  }
  if ((first & 0x1f) !== 0x1f) return { tag: first, length: 1 };

  let tag = first;
  for (let count = 1; ; count++) {
    const position = start + count;
    if (position >= data.length) {
      throw new TlvError(`truncated tag: input ends after ${count} tag byte(s) ${hexBytes(data, start, count)}`, offset);
    }

    const byte = data[position];
    if (count === 1 && byte === 0x80) {
      throw new TlvError(`invalid tag ${hexBytes(data, start, 2)}: the first subsequent tag byte must not be 80`, offset);
    }

    tag = tag * 256 + byte;
    if ((byte & 0x80) === 0) return { tag, length: count + 1 };

    if (count + 1 >= MAX_TAG_BYTES) {
      throw new TlvError(`tag ${hexBytes(data, start, count + 1)}… is longer than ${MAX_TAG_BYTES} bytes`, offset);
    }
  }
}

function readLength(data: Uint8Array, start: number, offset: number, tag: number): { valueLength: number; length: number } {
  if (start >= data.length) throw new TlvError("truncated: the length field is missing", offset, tag);

  const first = data[start];
  if (first < 0x80) return { valueLength: first, length: 1 };
  if (first === 0x80) throw new TlvError("indefinite length (80) is not allowed", offset, tag);
  if (first > 0x84) {
    throw new TlvError(`length form ${hexByte(first)} is not supported (at most 4 length bytes, 81 to 84)`, offset, tag);
  }

  const count = first & 0x7f;
  if (start + count >= data.length) {
    throw new TlvError(`truncated: length form ${hexByte(first)} needs ${count} length byte(s)`, offset, tag);
  }

  let valueLength = 0;
  for (let i = 1; i <= count; i++) valueLength = valueLength * 256 + data[start + i];
  return { valueLength, length: 1 + count };
}

function isPaddingByte(byte: number): boolean {
  return byte === 0x00 || byte === 0xff;
}

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

function hexBytes(data: Uint8Array, start: number, count: number): string {
  return Array.from(data.subarray(start, start + count), hexByte).join("");
}
