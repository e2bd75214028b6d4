/**
 * GENERATE SESSION PIN (INS 5A) of the SmartCard-HSM, available only while
 * device option 0004 (session PIN) is set. Otherwise the INS is unknown (6D00),
 * as on the Pico HSM firmware, which removed the command.
 *
 *   80 5A 01 81 00   returns a new 16-byte session PIN for the user PIN verified
 *                    since the last SELECT (6982 when none was)
 *   80 5A 02 81      clears the session PIN
 *
 * VERIFY 81 then accepts the session PIN in place of the user PIN until the
 * card is reset or powered off (see policy/session-pin.ts).
 */
import { CardError, SW } from "@hsmkit/apdu";
import { OPTION } from "../hsm/constants.ts";
import type { CommandHandler } from "../hsm/context.ts";

const GENERATE = 0x01;
const CLEAR = 0x02;
const USER_PIN_REFERENCE = 0x81;

export const generateSessionPin: CommandHandler = async (ctx) => {
  const { p1, p2 } = ctx.apdu;
  if (!ctx.device.hasOption(OPTION.SESSION_PIN)) {
    throw new CardError(SW.INS_NOT_SUPPORTED, "INS 5A (session PIN) needs device option 0004");
  }
  if (p2 !== USER_PIN_REFERENCE) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, "session PIN: only the user PIN (P2 81) has one");

  const { sessionPin } = ctx.session;
  if (p1 === CLEAR) {
    sessionPin.clear();
    ctx.log.info("session PIN cleared");
    return;
  }
  if (p1 !== GENERATE) throw new CardError(SW.INCORRECT_P1P2, "session PIN: P1 must be 01 (generate) or 02 (clear)");

  const pin = ctx.session.userPinSession ? sessionPin.generate((length) => ctx.random(length)) : undefined;
  if (!pin) throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "session PIN: verify the user PIN in this session first");
  ctx.log.info("session PIN generated");
  return { data: pin };
};
