/** Response APDU codec: response data followed by the status word SW1 SW2. */

/** A parsed response APDU. */
export interface ResponseApdu {
  data: Uint8Array;
  /** SW1 SW2 as one number, e.g. 0x9000. */
  sw: number;
}

/** Splits a response frame into data and status word. Throws RangeError below 2 bytes. */
export function parseResponseApdu(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) {
    throw new RangeError(`invalid response APDU of ${bytes.length} byte(s): the 2-byte status word is missing`);
  }
  const end = bytes.length - 2;
  return { data: bytes.slice(0, end), sw: (bytes[end] << 8) | bytes[end + 1] };
}

/** Builds a response frame from data and a status word. */
export function encodeResponseApdu(data: Uint8Array, sw: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) throw new RangeError(`invalid status word ${sw}: must be 0x0000 to 0xFFFF`);

  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}
