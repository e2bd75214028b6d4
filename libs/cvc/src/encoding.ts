/** Internal helpers: unsigned integers, reference strings and TLV access with CVC errors. */

import { children, decodeTlv, decodeTlvs, type Tlv, TlvError } from "@hsmkit/tlv";
import { CvcError } from "./errors.ts";

/** Converts big-endian unsigned bytes to a bigint (empty input is 0). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Returns the number of bytes of a non-negative integer's minimal encoding (at least 1). */
export function byteLength(value: bigint): number {
  let length = 1;
  for (let rest = value >> 8n; rest > 0n; rest >>= 8n) length++;
  return length;
}

/**
 * Encodes a non-negative bigint big-endian, left-padded with zeros to `length`
 * bytes, or minimal when `length` is omitted. Throws when the value does not fit.
 */
export function bigIntToBytes(value: bigint, length = byteLength(value), field = "integer"): Uint8Array {
  if (value < 0n) throw new CvcError("invalid-argument", field, "negative integers cannot be encoded");
  if (byteLength(value) > length) {
    throw new CvcError("invalid-argument", field, `value needs ${byteLength(value)} bytes, more than the ${length} available`);
  }

  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Drops leading zero bytes, keeping at least one byte. */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/** Compares two byte arrays for equality (not constant time: for public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Encodes a CAR or CHR. TR-03110 references are printable ASCII (country code,
 * holder mnemonic, sequence number); anything else is rejected.
 */
export function encodeReference(reference: string, field: string): Uint8Array {
  if (reference.length === 0) throw new CvcError("invalid-argument", field, "empty reference; expected printable ASCII such as ESPICOHSMTR00001");
  const out = new Uint8Array(reference.length);
  for (let i = 0; i < reference.length; i++) {
    const code = reference.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) {
      throw new CvcError("invalid-argument", field, `character ${JSON.stringify(reference[i])} at index ${i} of ${JSON.stringify(reference)} is not printable ASCII`);
    }
    out[i] = code;
  }
  return out;
}

/** Decodes a CAR or CHR byte for byte (Latin-1), so re-encoding printable input gives the same bytes. */
export function decodeReference(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** Returns the complete encoding (tag, length, value) of a decoded data object. */
export function rawBytes(tlv: Tlv): Uint8Array {
  const headerLength = tlv.encodedLength - tlv.value.length;
  return new Uint8Array(tlv.value.buffer, tlv.value.byteOffset - headerLength, tlv.encodedLength);
}

/** Decodes exactly one data object, turning TLV faults into CvcError for `field`. */
export function readOne(bytes: Uint8Array, field: string): Tlv {
  return translate(field, () => decodeTlv(bytes));
}

/** Decodes a sequence of data objects, turning TLV faults into CvcError for `field`. */
export function readAll(bytes: Uint8Array, field: string): Tlv[] {
  return translate(field, () => decodeTlvs(bytes));
}

/** Decodes the children of a constructed data object, turning TLV faults into CvcError. */
export function readChildren(tlv: Tlv, field: string): Tlv[] {
  if (!tlv.constructed) throw new CvcError("malformed", field, "expected a constructed data object");
  return translate(field, () => children(tlv));
}

function translate<T>(field: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof TlvError) throw new CvcError("malformed", field, error.message);
    throw error;
  }
}

/** Indexes children by tag. Throws CvcError for a duplicate tag or a tag outside `allowed`. */
export function indexByTag(items: Tlv[], allowed: readonly number[], field: string): Map<number, Tlv> {
  const index = new Map<number, Tlv>();
  for (const item of items) {
    const name = `${field}/${formatTagHex(item.tag)}`;
    if (!allowed.includes(item.tag)) throw new CvcError("malformed", name, "unexpected data object");
    if (index.has(item.tag)) throw new CvcError("malformed", name, "data object appears twice");
    index.set(item.tag, item);
  }
  return index;
}

/** Returns the child with `tag`, or throws a CvcError naming it as missing. */
export function required(index: Map<number, Tlv>, tag: number, field: string, description: string): Tlv {
  const item = index.get(tag);
  if (item === undefined) throw new CvcError("malformed", `${field}/${formatTagHex(tag)}`, `missing ${description}`);
  return item;
}

/** Formats a tag as upper-case hex, e.g. `7F49`. */
export function formatTagHex(tag: number): string {
  const hex = tag.toString(16).toUpperCase();
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}
