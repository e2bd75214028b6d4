/**
 * Framing of the vpcd protocol, the TCP link between pcscd's vpcd reader driver
 * (vsmartcard) and a virtual card. Both directions carry frames of
 * `LEN (2 bytes, big-endian) || PAYLOAD (LEN bytes)`. A 1-byte payload from vpcd is
 * a control code; a longer one is a command APDU.
 */

/** Control codes vpcd sends as a 1-byte payload. */
export const VpcdControl = {
  POWER_OFF: 0x00,
  POWER_ON: 0x01,
  RESET: 0x02,
  GET_ATR: 0x04,
} as const;

/** Maximum payload length, fixed by the 2-byte length prefix. */
export const MAX_FRAME_PAYLOAD = 0xffff;

const HEADER_LENGTH = 2;

/** Encodes `payload` as one frame; throws a RangeError above 65535 bytes. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`vpcd frame payload too long: ${payload.length} bytes (maximum ${MAX_FRAME_PAYLOAD})`);
  }

  const frame = new Uint8Array(HEADER_LENGTH + payload.length);
  frame[0] = payload.length >> 8;
  frame[1] = payload.length & 0xff;
  frame.set(payload, HEADER_LENGTH);
  return frame;
}

/**
 * Reassembles frames from a byte stream that TCP may split or merge at any point.
 * Feed each received chunk to `push`, then call `next` until it returns undefined.
 */
export class FrameDecoder {
  #buffer = new Uint8Array(4096);
  #start = 0;
  #end = 0;

  /** Appends received bytes; `chunk` may be reused by the caller afterwards. */
  push(chunk: Uint8Array): void {
    this.#reserve(chunk.length);
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Returns the next complete payload (a copy), or undefined while one is incomplete. */
  next(): Uint8Array | undefined {
    const available = this.#end - this.#start;
    if (available < HEADER_LENGTH) return undefined;

    const length = (this.#buffer[this.#start] << 8) | this.#buffer[this.#start + 1];
    if (available < HEADER_LENGTH + length) return undefined;

    const payloadStart = this.#start + HEADER_LENGTH;
    const payload = this.#buffer.slice(payloadStart, payloadStart + length);
    this.#start = payloadStart + length;

    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    return payload;
  }

  /** Number of received bytes not yet returned as a payload. */
  get pending(): number {
    return this.#end - this.#start;
  }

  #reserve(extra: number): void {
    if (this.#end + extra <= this.#buffer.length) return;

    const pendingLength = this.#end - this.#start;
    if (pendingLength + extra <= this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const larger = new Uint8Array(Math.max(this.#buffer.length * 2, pendingLength + extra));
      larger.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = larger;
    }

    this.#start = 0;
    this.#end = pendingLength;
  }
}
