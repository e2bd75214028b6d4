import { concatBytes } from "./bytes.ts";
import { encodeLength } from "./length.ts";
import { encodeTag } from "./tag.ts";

/**
 * Encodes one data object. An array value is concatenated first, which is the
 * usual way to build a constructed object from encoded children. The length
 * uses the shortest form. Throws RangeError for an invalid tag.
 */
export function encodeTlv(tag: number, value: Uint8Array | readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = value instanceof Uint8Array ? value : concatBytes(...value);
  return concatBytes(encodeTag(tag), encodeLength(body.length), body);
}
