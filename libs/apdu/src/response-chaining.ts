/**
 * Response chaining with 61XX and GET RESPONSE (ISO/IEC 7816-4 section 5.3.4),
 * following the SmartCard-HSM firmware.
 */
import { concatBytes } from "@hsmkit/tlv";
import { encodeResponseApdu } from "./response-apdu.ts";
import { bytesRemainingSw } from "./status-words.ts";

/** Response bytes and the final SW kept for the next GET RESPONSE. */
export interface PendingResponse {
  data: Uint8Array;
  sw: number;
}

/** One response frame to send, and what stays pending after it. */
export interface ResponsePart {
  frame: Uint8Array;
  /** The SW in `frame`: the final SW, or 61XX when bytes remain. */
  sw: number;
  pending?: PendingResponse;
}

/**
 * Sends up to `ne` bytes of `data`. When more remain, the frame ends with 61XX,
 * where XX is the remaining count or 00 for 256 and more, and the rest is kept
 * pending with the final `sw`. This includes Ne = 0, which sends only 61XX.
 */
export function splitResponse(data: Uint8Array, sw: number, ne: number): ResponsePart {
  if (data.length <= ne) return { frame: encodeResponseApdu(data, sw), sw };

  const remaining = data.subarray(ne);
  const remainingSw = bytesRemainingSw(remaining.length);
  return {
    frame: encodeResponseApdu(data.subarray(0, ne), remainingSw),
    sw: remainingSw,
    pending: { data: concatBytes(remaining), sw },
  };
}
