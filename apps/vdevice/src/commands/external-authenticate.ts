/**
 * EXTERNAL AUTHENTICATE (INS 82): one authenticator of public key
 * authentication signs the pending challenge. The data is its signature over
 * SHA-256(device CHR ‖ challenge) with the PUK selected by MSE SET AT (P2 A4,
 * tag 83): ECDSA raw r ‖ s, or RSA PKCS#1 v1.5 / PSS as the PUK's OID says.
 *
 * Checks in order: P1 P2 00 00 (6A86), a PUK selected (6A88), data present
 * (6700), a pending challenge (6985), PKA configured (6A82). The PUK's status is
 * cleared, then the signature is verified (6985 when wrong). When the number of
 * authenticated PUKs reaches the required count, the quorum is reached and the
 * challenge is consumed.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { concatBytes } from "@hsmkit/tlv";
import type { CommandHandler } from "../hsm/context.ts";
import { readPkaConfig, readSlot, refreshPkaAuthentication, verifyPukSignature } from "../policy/pka.ts";

export const externalAuthenticate: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;
  const { pka } = ctx.session;
  if (p1 !== 0x00 || p2 !== 0x00) throw new CardError(SW.INCORRECT_P1P2, "EXTERNAL AUTHENTICATE: P1 and P2 must be 00");

  const slot = pka.selectedSlot;
  if (slot === undefined) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, "EXTERNAL AUTHENTICATE: select a PUK with MSE SET AT first");
  if (data.length === 0) throw new CardError(SW.WRONG_LENGTH, "EXTERNAL AUTHENTICATE: the signature is missing");

  const challenge = ctx.session.challenge;
  if (challenge === undefined) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "EXTERNAL AUTHENTICATE: no pending challenge; send GET CHALLENGE first");

  const config = await readPkaConfig(ctx.keystore);
  const request = config && slot < config.total ? await readSlot(ctx.keystore, slot) : undefined;
  if (!config || !request) throw new CardError(SW.FILE_NOT_FOUND, "EXTERNAL AUTHENTICATE: public key authentication is not configured");

  pka.authenticated.delete(slot);
  const message = concatBytes(new TextEncoder().encode(await ctx.deviceChr()), challenge);
  const valid = await verifyPukSignature(request.request.body.publicKey, message, data);
  if (!valid) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `EXTERNAL AUTHENTICATE: wrong signature for PUK ${request.request.body.chr}`);

  pka.authenticated.add(slot);
  ctx.log.info("PUK authenticated", { slot, chr: request.request.body.chr, authenticated: pka.authenticated.size, required: config.required });

  if (pka.authenticated.size >= config.required) {
    pka.quorumReached = true;
    challenge.fill(0);
    ctx.session.challenge = undefined;
    refreshPkaAuthentication(ctx);
  }
};
