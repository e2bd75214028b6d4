/**
 * RESET RETRY COUNTER (INS 2C), P2 81 (the user PIN):
 * - P1 00: data = SO-PIN ‖ new user PIN; unblocks and sets the user PIN;
 * - P1 01: data = SO-PIN; only restores the user PIN's retry counter;
 * - P1 02: data = new user PIN, the SO-PIN already verified in this session;
 * - P1 03: no data, only restores the counter, the SO-PIN already verified.
 * Needs device option 0001 (and 0020 for P1 01/03).
 */
import { CardError, SW } from "@hsmkit/apdu";
import { OPTION } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { checkPin, MAX_NEW_PIN_LENGTH } from "../hsm/pin-check.ts";

export const resetRetryCounter: CommandHandler = async (ctx) => {
  const { p1, p2 } = ctx.apdu;
  if (p2 !== 0x81) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `RESET RETRY COUNTER: P2 must be 81, got ${hex(p2)}`);

  const so = ctx.keystore.pinStatus("so");
  if (!so.initialized || so.pinLength === undefined) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, "SO-PIN not initialised");

  if (!ctx.device.hasOption(OPTION.RESET_RETRY_COUNTER)) {
    throw new CardError(SW.COMMAND_NOT_ALLOWED, "RESET RETRY COUNTER is disabled by the device options");
  }

  switch (p1) {
    case 0x00:
    case 0x02:
      return setNewPin(ctx, so.pinLength);
    case 0x01:
    case 0x03:
      return resetCounterOnly(ctx, so.pinLength);
    default:
      throw new CardError(SW.INCORRECT_P1P2, `RESET RETRY COUNTER: P1 ${hex(p1)} not supported`);
  }
};

/** P1 00 / 02: set a new user PIN, which also restores its counter, through the SO copy of the MKEK. */
async function setNewPin(ctx: CommandContext, soPinLength: number): Promise<void> {
  const { p1, data } = ctx.apdu;
  let newPin: Uint8Array;

  if (p1 === 0x00) {
    if (data.length <= soPinLength + 1) {
      throw new CardError(SW.WRONG_LENGTH, `RESET RETRY COUNTER: expected the ${soPinLength}-byte SO-PIN and a new PIN`);
    }
    await checkPin(ctx, "so", data.subarray(0, soPinLength));
    newPin = data.slice(soPinLength);
  } else {
    requireSoSession(ctx);
    if (data.length === 0 || data.length > MAX_NEW_PIN_LENGTH) {
      throw new CardError(SW.WRONG_LENGTH, `RESET RETRY COUNTER: the new PIN must be 1..${MAX_NEW_PIN_LENGTH} bytes`);
    }
    newPin = data.slice();
  }

  await ctx.keystore.setUserPin(newPin);
  ctx.session.sessionPin.clear();
  newPin.fill(0);
  ctx.session.userPinSession = true;
  ctx.log.info("user PIN reset by the SO");
}

/** P1 01 / 03: restore the user PIN's retry counter (needs option 0020). */
async function resetCounterOnly(ctx: CommandContext, soPinLength: number): Promise<void> {
  const { p1, data } = ctx.apdu;
  if (!ctx.device.hasOption(OPTION.RESET_RETRY_COUNTER_ONLY)) {
    throw new CardError(SW.COMMAND_NOT_ALLOWED, "RESET RETRY COUNTER without a new PIN is disabled by the device options");
  }

  if (p1 === 0x01) {
    if (data.length !== soPinLength) throw new CardError(SW.WRONG_LENGTH, `RESET RETRY COUNTER: expected the ${soPinLength}-byte SO-PIN`);
    await checkPin(ctx, "so", data);
  } else {
    requireSoSession(ctx);
    if (data.length !== 0) throw new CardError(SW.WRONG_LENGTH, "RESET RETRY COUNTER P1 03 takes no data");
  }

  await ctx.keystore.resetUserRetries();
}

function requireSoSession(ctx: CommandContext): void {
  if (!ctx.session.soPinSession) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "the SO-PIN must be verified first");
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
