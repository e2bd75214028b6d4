/**
 * @hsmkit/apdu: ISO/IEC 7816-4 command and response APDUs, status words, a host
 * helper that follows 61XX/6CXX, and a card runtime that dispatches APDUs to
 * applets with chaining, GET RESPONSE and SELECT by AID.
 */
export { CardError } from "./card-error.ts";
export {
  encodeCommandApdu,
  MAX_COMMAND_APDU_LENGTH,
  MAX_EXTENDED_NC,
  parseCommandApdu,
  type CommandApdu,
  type CommandApduFields,
} from "./command-apdu.ts";
export { encodeResponseApdu, parseResponseApdu, type ResponseApdu } from "./response-apdu.ts";
export { bytesRemainingSw, describeStatusWord, formatStatusWord, retriesLeftSw, SW, type StatusWord } from "./status-words.ts";
export { transmitApdu, type Transmit } from "./transmit.ts";
export {
  CardRuntime,
  isSelectByAid,
  type Applet,
  type AppletResponse,
  type CardResponse,
  type CardRuntimeOptions,
  type SecureMessagingHandler,
} from "./card-runtime.ts";
export { CLA_CHAINING, MAX_CHAINED_DATA } from "./command-chaining.ts";
