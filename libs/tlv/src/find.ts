import { children, decodeTlvs, type Tlv } from "./decode.ts";

/**
 * Returns the first data object with `tag` at the top level of `from`, or
 * undefined. Bytes are decoded in full first, so malformed input throws TlvError
 * even when the tag comes before the fault.
 */
export function findTlv(from: Uint8Array | readonly Tlv[], tag: number): Tlv | undefined {
  return toList(from).find((tlv) => tlv.tag === tag);
}

/**
 * Returns the first data object with `tag` in depth-first pre-order, descending
 * into every constructed object it passes, or undefined. A constructed value
 * that is not valid BER-TLV throws TlvError when the search reaches it.
 */
export function findTlvDeep(from: Uint8Array | readonly Tlv[], tag: number): Tlv | undefined {
  for (const tlv of toList(from)) {
    if (tlv.tag === tag) return tlv;
    if (tlv.constructed) {
      const found = findTlvDeep(children(tlv), tag);
      if (found) return found;
    }
  }
  return undefined;
}

function toList(from: Uint8Array | readonly Tlv[]): readonly Tlv[] {
  return from instanceof Uint8Array ? decodeTlvs(from) : from;
}
