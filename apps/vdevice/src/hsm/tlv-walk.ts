/**
 * Lenient TLV walk over command data, following the firmware's parser: tags of
 * 1 byte, or 2 bytes when the low 5 bits of the first byte are all 1 (5F xx,
 * 7F xx); lengths 00–7F, 81 xx, 82 xx xx. A truncated object or any other
 * length form ends the walk without an error, and unknown tags are the
 * caller's to skip. Use @hsmkit/tlv's strict decoder for stored structures.
 */

export interface FlatTlv {
  tag: number;
  value: Uint8Array;
}

/** Returns the top-level TLVs of `data` up to the first malformed one. */
export function flatTlvs(data: Uint8Array): FlatTlv[] {
  const out: FlatTlv[] = [];
  let position = 0;

  while (position < data.length) {
    let tag = data[position++];
    if ((tag & 0x1f) === 0x1f) {
      if (position >= data.length) break;
      tag = (tag << 8) | data[position++];
    }

    if (position >= data.length) break;
    let length = data[position++];
    if (length === 0x81) {
      if (position + 1 > data.length) break;
      length = data[position++];
    } else if (length === 0x82) {
      if (position + 2 > data.length) break;
      length = (data[position] << 8) | data[position + 1];
      position += 2;
    } else if (length > 0x7f) {
      break;
    }

    if (position + length > data.length) break;
    out.push({ tag, value: data.subarray(position, position + length) });
    position += length;
  }

  return out;
}

/** Returns the value of the first top-level TLV with `tag` (the firmware's "first occurrence wins"), or undefined. */
export function firstTlv(data: Uint8Array | FlatTlv[], tag: number): Uint8Array | undefined {
  const list = data instanceof Uint8Array ? flatTlvs(data) : data;
  return list.find((tlv) => tlv.tag === tag)?.value;
}

/** Returns the value of the last top-level TLV with `tag` (UPDATE BINARY: "the last occurrence wins"), or undefined. */
export function lastTlv(data: Uint8Array | FlatTlv[], tag: number): Uint8Array | undefined {
  const list = data instanceof Uint8Array ? flatTlvs(data) : data;
  let found: Uint8Array | undefined;
  for (const tlv of list) if (tlv.tag === tag) found = tlv.value;
  return found;
}
