/** DECIPHER / ECDH (INS 62). */
import { CardError, SW } from "@hsmkit/apdu";
import type { CommandHandler } from "../hsm/context.ts";

// TODO: implement (owned by the key-operations engineer); answers 6D00 until then.
export const decipher: CommandHandler = async () => {
  throw new CardError(SW.INS_NOT_SUPPORTED, "DECIPHER / ECDH (INS 62) is not implemented yet");
};
