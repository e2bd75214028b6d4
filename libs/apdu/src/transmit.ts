/** Host side of an exchange: sends one command and collects its whole response. */
import { concatBytes } from "@hsmkit/tlv";
import { encodeCommandApdu, type CommandApduFields } from "./command-apdu.ts";
import { parseResponseApdu, type ResponseApdu } from "./response-apdu.ts";

/** Sends one command APDU frame to a card and resolves to its response frame. */
export type Transmit = (command: Uint8Array) => Promise<Uint8Array>;

/** GET RESPONSE rounds allowed after one command; 256 rounds of 256 bytes cover any extended Ne. */
const MAX_GET_RESPONSE_ROUNDS = 256;

/**
 * Sends a command and returns the complete response. A 6CXX response resends the
 * command once with Ne = XX. Each 61XX response is followed by GET RESPONSE
 * (`00 C0 00 00 XX`) and the data parts are concatenated; the returned SW is the
 * last one. Throws Error when the card keeps answering 61XX beyond 256 rounds.
 */
export async function transmitApdu(
  transmit: Transmit,
  command: CommandApduFields,
  options: { extended?: boolean } = {},
): Promise<ResponseApdu> {
  let response = parseResponseApdu(await transmit(encodeCommandApdu(command, options)));

  if (response.sw >> 8 === 0x6c) {
    const ne = response.sw & 0xff || 256;
    response = parseResponseApdu(await transmit(encodeCommandApdu({ ...command, ne }, options)));
  }

  const parts = [response.data];
  for (let round = 0; response.sw >> 8 === 0x61; round++) {
    if (round === MAX_GET_RESPONSE_ROUNDS) {
      throw new Error(`card returned 61XX to ${MAX_GET_RESPONSE_ROUNDS} GET RESPONSE commands in a row; giving up`);
    }
    const ne = response.sw & 0xff || 256;
    response = parseResponseApdu(await transmit(encodeCommandApdu({ cla: 0x00, ins: 0xc0, p1: 0x00, p2: 0x00, ne })));
    parts.push(response.data);
  }

  return { data: concatBytes(...parts), sw: response.sw };
}
