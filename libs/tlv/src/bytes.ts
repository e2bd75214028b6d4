/** Byte helpers shared by the TLV and APDU code. */

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const part of parts) total += part.length;

  const out = new Uint8Array(total);
  let position = 0;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}

const HEX_DIGITS = "0123456789ABCDEF";

/** Formats bytes as upper-case hex without separators, e.g. `6A82`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4] + HEX_DIGITS[byte & 0x0f];
  return out;
}

/**
 * Parses hex digits (either case) into bytes. Whitespace anywhere is ignored, so
 * `"00 A4 04 00"` works. Throws SyntaxError on any other character or an odd
 * number of digits.
 */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const bad = hex.search(/[^0-9a-fA-F\s]/);
  if (bad >= 0) {
    throw new SyntaxError(`invalid hex: character ${JSON.stringify(hex[bad])} at index ${bad} is not a hex digit`);
  }

  const digits = hex.replace(/\s+/g, "");
  if (digits.length % 2 !== 0) {
    throw new SyntaxError(`invalid hex: ${digits.length} digits is an odd count; each byte needs two digits`);
  }

  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}
