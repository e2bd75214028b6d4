/**
 * PUK AUTH (INS 54): registers and queries the public keys (PUKs) of public
 * key authentication.
 *
 *   P1 00, P2 00, data   register into the first empty slot, with or without a
 *                        PIN session (no empty slot 6A84)
 *   P1 01, P2 slot, data replace the PUK in a slot (PS or SS; option 0008,
 *                        else 6985; slot ≥ total 6A86)
 *   P1 02, P2 slot       CHR of the PUK in the slot: 9000, or 9001 when it
 *                        authenticated in this session; empty 6A88
 *   no data              status: total, not yet registered, required, authenticated
 *
 * The data is the content of an authenticated CV request (7F21 ‖ 42 ‖ 5F37).
 * Without PKA configured: 6A82 with data, 6A86 without.
 *
 * Registration needs no PIN, unlike the Pico HSM firmware (PS or SS, 6982):
 * OpenSC's `sc-hsm-tool --register-public-key` sends none, as the SmartCard-HSM
 * expects. The window closes once every slot is taken; until then the device
 * cannot be used, because the quorum cannot be reached.
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { OPTION } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { checkPukRequest, countEmptySlots, pkaStatus, readPkaConfig, readSlot, slotRecordName, type PkaConfig } from "../policy/pka.ts";

const REGISTER = 0x00;
const REPLACE = 0x01;
const QUERY_SLOT = 0x02;

export const pukAuth: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;

  const config = await readPkaConfig(ctx.keystore);
  if (!config) {
    if (data.length > 0) throw new CardError(SW.FILE_NOT_FOUND, "PUK AUTH: public key authentication is not configured");
    throw new CardError(SW.INCORRECT_P1P2, "PUK AUTH: public key authentication is not configured");
  }

  if (p1 === QUERY_SLOT) return querySlot(ctx, config, p2);

  if (data.length > 0) {
    if (p1 === REGISTER) await register(ctx, config, p2, data);
    else if (p1 === REPLACE) await replace(ctx, config, p2, data);
    else throw new CardError(SW.INCORRECT_P1P2, `PUK AUTH: P1 ${hex(p1)} is not 00 (register), 01 (replace) or 02 (query)`);
  }

  return { data: await pkaStatus(ctx, config) };
};

async function register(ctx: CommandContext, config: PkaConfig, p2: number, content: Uint8Array): Promise<void> {
  if (p2 !== 0x00) throw new CardError(SW.INCORRECT_P1P2, `PUK AUTH: register needs P2 00, got ${hex(p2)}`);

  if ((await countEmptySlots(ctx.keystore, config)) === 0) throw new CardError(SW.NOT_ENOUGH_MEMORY, "PUK AUTH: every PUK slot is taken");
  const request = await checkPukRequest(ctx, content);

  for (let slot = 0; slot < config.total; slot++) {
    if ((await ctx.keystore.getFile(slotRecordName(slot))) !== undefined) continue;
    await ctx.keystore.putFile(slotRecordName(slot), content.slice());
    ctx.log.info("PUK registered", { slot, chr: request.request.body.chr });
    return;
  }
}

async function replace(ctx: CommandContext, config: PkaConfig, slot: number, content: Uint8Array): Promise<void> {
  requirePinSession(ctx);
  if (!ctx.device.hasOption(OPTION.PKA_REPLACEABLE)) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "PUK AUTH: replacing a PUK needs device option 0008 (PKA replaceable)");
  }
  if (slot >= config.total) throw new CardError(SW.INCORRECT_P1P2, `PUK AUTH: slot ${slot} out of range 0..${config.total - 1}`);

  const request = await checkPukRequest(ctx, content);
  await ctx.keystore.putFile(slotRecordName(slot), content.slice());
  ctx.session.pka.authenticated.delete(slot);
  ctx.log.info("PUK replaced", { slot, chr: request.request.body.chr });
}

async function querySlot(ctx: CommandContext, config: PkaConfig, slot: number): Promise<AppletResponse> {
  if (slot >= config.total) throw new CardError(SW.INCORRECT_P1P2, `PUK AUTH: slot ${slot} out of range 0..${config.total - 1}`);

  const request = await readSlot(ctx.keystore, slot);
  if (!request) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `PUK AUTH: slot ${slot} is empty`);

  const chr = new TextEncoder().encode(request.request.body.chr);
  return ctx.session.pka.authenticated.has(slot) ? { data: chr, sw: 0x9001 } : { data: chr };
}

function requirePinSession(ctx: CommandContext): void {
  if (!ctx.session.hasPinSession) throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "PUK AUTH: verify the user PIN or SO-PIN first");
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
