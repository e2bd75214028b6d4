/**
 * Press-to-confirm (device option 0100): the gate every private or secret key
 * operation and every EXTRAS command passes. Without the option it lets the
 * command through, and so it does without a confirmation source (the in-process
 * default, which the CLI logs at start). Otherwise a denial or a timeout is 6600.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { ConfirmRequest } from "../button/presence.ts";
import { OPTION } from "../hsm/constants.ts";
import type { CommandContext } from "../hsm/context.ts";

/** 6600: the status word the firmware returns when the button was not pressed in time. */
export const SW_NOT_CONFIRMED = SW.SECURE_MESSAGING_EXEC_ERROR;

export async function confirmPresence(ctx: CommandContext, request: ConfirmRequest): Promise<void> {
  if (!ctx.device.hasOption(OPTION.PRESS_TO_CONFIRM)) return;
  const confirmer = ctx.presence;
  if (!confirmer) return;

  const outcome = await confirmer.confirm(request);
  if (outcome === "confirmed") return;

  ctx.log.info(`key use ${outcome === "denied" ? "denied" : "not confirmed in time"}`, { operation: request.operation, key: request.keyId });
  throw new CardError(SW_NOT_CONFIRMED, `press-to-confirm: ${request.operation} was ${outcome === "denied" ? "denied" : "not confirmed in time"}`);
}
