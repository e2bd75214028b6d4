/**
 * ISO/IEC 7816-4 padding (padding method 2 of ISO/IEC 9797-1): a byte 80, then
 * zero bytes up to a multiple of the AES block size. Padding is always added,
 * so a whole block is appended when the input is already aligned.
 */

/** AES block size in bytes. */
export const BLOCK_SIZE = 16;

/** Returns `data ‖ 80 ‖ 00…` with a length that is a multiple of 16. */
export function pad(data: Uint8Array): Uint8Array {
  const length = (Math.floor(data.length / BLOCK_SIZE) + 1) * BLOCK_SIZE;
  const out = new Uint8Array(length);
  out.set(data, 0);
  out[data.length] = 0x80;
  return out;
}

/**
 * Removes the padding: drops trailing zero bytes, then requires the 80 byte.
 * Returns undefined when no 80 byte ends the data.
 */
export function unpad(data: Uint8Array): Uint8Array | undefined {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0x00) end--;
  if (end === 0 || data[end - 1] !== 0x80) return undefined;
  return data.slice(0, end - 1);
}
