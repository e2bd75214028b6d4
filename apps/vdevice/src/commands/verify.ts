/**
 * VERIFY (INS 20): P2 81 user PIN, 88 SO-PIN. With data it checks the PIN;
 * without data it is a status query: 63CX (X tries left), 6983 (blocked),
 * 9000 (session already open) or 6A88 (not initialised). While a session PIN
 * is set, VERIFY 81 accepts it in place of the user PIN.
 */
import { CardError, retriesLeftSw, SW } from "@hsmkit/apdu";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { checkPin, pinName, pinReference } from "../hsm/pin-check.ts";

export const verify: CommandHandler = async (ctx) => {
  const { p1, p2 } = ctx.apdu;
  if (p1 !== 0x00) throw new CardError(SW.WRONG_P1P2, `VERIFY P1 must be 00, got ${hex(p1)}`);
  if ((p2 & 0x60) !== 0) throw new CardError(SW.WRONG_P1P2, `VERIFY P2 ${hex(p2)} is not a PIN reference`);

  const ref = pinReference(p2);
  // 85 and 86 (biometric templates) must answer 6A88, or OpenSC assumes a PIN pad.
  if (!ref) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `PIN reference ${hex(p2)} does not exist`);

  return ref === "user" ? verifyUserPin(ctx) : verifySoPin(ctx);
};

async function verifyUserPin(ctx: CommandContext): Promise<void> {
  const { data } = ctx.apdu;

  if (ctx.device.settings.transportPinPending) {
    throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, "transport PIN: change the user PIN first");
  }
  if (data.length === 0 && ctx.session.userPinSession) return;

  const status = ctx.keystore.pinStatus("user");
  if (!status.initialized) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, "user PIN not initialised");

  if (data.length > 0) return checkPin(ctx, "user", ctx.session.sessionPin.open(data) ?? data);
  throwStatus("user", status.remaining);
}

async function verifySoPin(ctx: CommandContext): Promise<void> {
  const { data } = ctx.apdu;

  const status = ctx.keystore.pinStatus("so");
  if (!status.initialized) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, "SO-PIN not initialised");

  if (data.length > 0) return checkPin(ctx, "so", data);
  if (status.remaining === 0) throwStatus("so", 0);
  if (ctx.session.soPinSession) return;
  throwStatus("so", status.remaining);
}

function throwStatus(ref: "user" | "so", remaining: number): never {
  if (remaining === 0) throw new CardError(SW.AUTHENTICATION_METHOD_BLOCKED, `${pinName(ref)} blocked`);
  throw new CardError(retriesLeftSw(remaining), `${pinName(ref)}: ${remaining} tries left`);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
