/**
 * The PIN check shared by VERIFY, CHANGE REFERENCE DATA and RESET RETRY
 * COUNTER. It first closes both PIN sessions and UA (so a wrong PIN logs the
 * caller out, and verifying one PIN closes the other's session), then
 * compares. While public key authentication is configured UA follows the PKA
 * quorum instead of the PIN. The keystore persists the lowered retry counter before comparing.
 */
import { CardError, retriesLeftSw, SW } from "@hsmkit/apdu";
import type { PinCheckResult, PinReference } from "@hsmkit/keystore";
import { readPkaConfig, refreshPkaAuthentication } from "../policy/pka.ts";
import type { CommandContext } from "./context.ts";

/** Longest PIN the keystore stores, bytes. */
export const MAX_PIN_LENGTH = 255;

/** Longest new PIN that CHANGE REFERENCE DATA and RESET RETRY COUNTER accept, bytes. */
export const MAX_NEW_PIN_LENGTH = 16;

/** Closes the sessions and locks the MKEK: the first step of every PIN check. With PKA configured, UA stays as PKA set it. */
export async function startPinCheck(ctx: CommandContext): Promise<void> {
  ctx.session.clearPinSessions();
  ctx.keystore.lock();
  if (await readPkaConfig(ctx.keystore)) refreshPkaAuthentication(ctx);
}

/** Throws 6983 (blocked) or 63CX for a failed check. */
export function failPinCheck(ref: PinReference, result: PinCheckResult): never {
  if (result.ok) throw new Error("failPinCheck called for a matching PIN");
  if (result.remaining === 0) throw new CardError(SW.AUTHENTICATION_METHOD_BLOCKED, `${pinName(ref)} blocked`);
  throw new CardError(retriesLeftSw(result.remaining), `wrong ${pinName(ref)}, ${result.remaining} tries left`);
}

/** Opens the session for `ref` after a matching PIN: UA and PS or SS, then seals a pending DKEK. */
export async function openPinSession(ctx: CommandContext, ref: PinReference): Promise<void> {
  if (ref === "user") ctx.session.userPinSession = true;
  else ctx.session.soPinSession = true;
  if (await readPkaConfig(ctx.keystore)) refreshPkaAuthentication(ctx);
  else ctx.session.userAuthenticated = true;
  await ctx.domains.sealPending();
}

/** Checks `pin` against `ref`; on a match opens its session, otherwise throws 63CX / 6983. */
export async function checkPin(ctx: CommandContext, ref: PinReference, pin: Uint8Array): Promise<void> {
  if (pin.length > MAX_PIN_LENGTH) throw new CardError(SW.WRONG_LENGTH, `PIN longer than ${MAX_PIN_LENGTH} bytes`);

  await startPinCheck(ctx);
  const result = await ctx.keystore.verifyPin(ref, pin);
  if (!result.ok) failPinCheck(ref, result);
  await openPinSession(ctx, ref);
  if (ref === "user") ctx.session.sessionPin.rememberVerifiedPin(pin);
}

/** Maps the PIN reference byte (P2) to the keystore's name: 81 user, 88 SO. */
export function pinReference(p2: number): PinReference | undefined {
  if (p2 === 0x81) return "user";
  if (p2 === 0x88) return "so";
  return undefined;
}

export function pinName(ref: PinReference): string {
  return ref === "user" ? "user PIN" : "SO-PIN";
}
