/** APDU round trips through pcscd: the SmartCard-HSM SELECT in a loop. */

import { measureRate, type RateLoop } from "./measure.ts";
import type { PcscClient } from "./pcsc.ts";
import type { RateSummary } from "./stats.ts";

/**
 * SELECT by DF name (CLA 00, INS A4, P1 04, P2 00) of the SmartCard-HSM application identifier
 * (AID) E8 2B 06 01 04 01 81 C3 1F 02 01, with Le 00.
 */
export const SELECT_SMARTCARD_HSM = Uint8Array.of(
  0x00, 0xa4, 0x04, 0x00, 0x0b,
  0xe8, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0xc3, 0x1f, 0x02, 0x01,
  0x00,
);

/** Measures SELECT round trips on the connected card; every response must end in SW 9000. */
export function runSelectBench(pcsc: PcscClient, loop: RateLoop): RateSummary {
  return measureRate(() => selectApplication(pcsc), loop);
}

function selectApplication(pcsc: PcscClient): void {
  const response = pcsc.transmit(SELECT_SMARTCARD_HSM);
  const length = response.length;
  if (length < 2 || response[length - 2] !== 0x90 || response[length - 1] !== 0x00) {
    const statusWord = Array.from(response.subarray(Math.max(0, length - 2)), hex).join("");
    throw new Error(`SELECT of the SmartCard-HSM application returned SW ${statusWord || "(none)"}, expected 9000`);
  }
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
