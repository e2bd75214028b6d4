/** Byte helpers shared by the record formats. */

import { concatBytes, equalBytes, utf8ToBytes } from "@noble/ciphers/utils.js";

export { concatBytes, utf8ToBytes };

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}

/** Overwrites every given buffer with zeros (best effort: JS may hold copies). */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) buffer?.fill(0);
}

/** Encodes `bytes` prefixed with its length as a big-endian u32. */
export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, bytes.length);
  return concatBytes(prefix, bytes);
}

/** Sequential reader over a byte array; `take` throws RangeError past the end. */
export class ByteReader {
  #offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  take(length: number): Uint8Array {
    if (length > this.remaining) throw new RangeError(`record truncated: needs ${length} more bytes, has ${this.remaining}`);
    const part = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return part;
  }

  u8(): number {
    return this.take(1)[0];
  }

  u32(): number {
    return new DataView(this.take(4).slice().buffer).getUint32(0);
  }
}

/** Encodes a u32 as 4 big-endian bytes. */
export function u32Bytes(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}
