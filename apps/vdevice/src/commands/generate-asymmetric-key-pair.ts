/** GENERATE ASYMMETRIC KEY PAIR (INS 46). */
import { CardError, SW } from "@hsmkit/apdu";
import type { CommandHandler } from "../hsm/context.ts";

// TODO: implement (owned by the key-operations engineer); answers 6D00 until then.
export const generateAsymmetricKeyPair: CommandHandler = async () => {
  throw new CardError(SW.INS_NOT_SUPPORTED, "GENERATE ASYMMETRIC KEY PAIR (INS 46) is not implemented yet");
};
