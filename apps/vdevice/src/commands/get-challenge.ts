/**
 * GET CHALLENGE (INS 84): Ne random bytes, 1..1024. A challenge of at most 256
 * bytes also becomes the pending challenge for public key authentication, and
 * every challenge resets which PUKs authenticated.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { CommandHandler } from "../hsm/context.ts";

/** Largest challenge, bytes (OpenSC caps its requests at the same value). */
export const MAX_CHALLENGE = 1024;

/** Largest challenge that is kept for public key authentication. */
const MAX_PKA_CHALLENGE = 256;

export const getChallenge: CommandHandler = async (ctx) => {
  const length = ctx.apdu.ne;
  if (length === 0 || length > MAX_CHALLENGE) {
    throw new CardError(SW.WRONG_LENGTH, `GET CHALLENGE: Le must ask for 1 to ${MAX_CHALLENGE} bytes, got ${length}`);
  }

  const challenge = ctx.random(length);
  ctx.session.challenge?.fill(0);
  ctx.session.challenge = length <= MAX_PKA_CHALLENGE ? challenge.slice() : undefined;
  ctx.session.pka.authenticated.clear();
  return { data: challenge };
};
