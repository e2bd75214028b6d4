/**
 * The card runtime's secure-messaging hook: unwraps a protected command with
 * the open channel, runs the plain command, and wraps its response (DO 87, 99,
 * 8E with transport status 9000). An SM error ends the channel and its status
 * word is sent unprotected: 6987 without a channel, 6984 for a bad MAC or bad data objects.
 */
import { CardError, SW, type SecureMessagingHandler } from "@hsmkit/apdu";
import type { Logger } from "../log.ts";
import type { SecureMessagingSession } from "./secure-messaging-session.ts";

/** Returns the hook for a device whose SM state is `session`. */
export function secureMessagingHandler(session: SecureMessagingSession, log: Logger): SecureMessagingHandler {
  return async (command, execute) => {
    const channel = session.channel;
    if (channel === undefined) {
      throw new CardError(SW.SM_DATA_OBJECTS_MISSING, "no secure messaging session: run MSE SET AT and GENERAL AUTHENTICATE first");
    }

    session.begin(channel);
    try {
      let plain;
      try {
        plain = channel.unwrapCommand(command);
      } catch (error) {
        session.close();
        log.warn("secure messaging session closed after an invalid protected command", { ins: hexByte(command.ins), ssc: String(channel.ssc) });
        throw error;
      }

      const response = await execute(plain);
      return { data: channel.wrapResponse(response.data, response.sw), sw: SW.OK };
    } finally {
      session.finish(channel);
    }
  };
}

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
