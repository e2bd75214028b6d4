/**
 * CHANGE REFERENCE DATA (INS 24): data = old PIN ‖ new PIN, split at the stored
 * length of the current PIN. P2 81 user PIN, 88 SO-PIN. A successful change of
 * the user PIN also ends the transport-PIN state.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { CommandHandler } from "../hsm/context.ts";
import { failPinCheck, MAX_NEW_PIN_LENGTH, openPinSession, pinName, pinReference, startPinCheck } from "../hsm/pin-check.ts";

export const changeReferenceData: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;
  const ref = pinReference(p2);
  if (p1 !== 0x00 || !ref) throw new CardError(SW.WRONG_P1P2, "CHANGE REFERENCE DATA: P1 must be 00 and P2 81 or 88");

  const status = ctx.keystore.pinStatus(ref);
  if (!status.initialized || status.pinLength === undefined) {
    throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `${pinName(ref)} not initialised`);
  }

  const oldLength = status.pinLength;
  if (data.length <= oldLength || data.length - oldLength > MAX_NEW_PIN_LENGTH) {
    throw new CardError(SW.WRONG_LENGTH, `CHANGE REFERENCE DATA: expected ${oldLength} bytes of old PIN and 1..16 bytes of new PIN`);
  }

  await startPinCheck(ctx);
  const result = await ctx.keystore.changePin(ref, data.subarray(0, oldLength), data.slice(oldLength));
  if (!result.ok) failPinCheck(ref, result);

  await openPinSession(ctx, ref);
  if (ref === "user") ctx.session.sessionPin.clear();
  if (ref === "user" && ctx.device.settings.transportPinPending) await ctx.device.updateSettings({ transportPinPending: false });
  ctx.log.info("PIN changed", { pin: ref });
};
