/**
 * IMPORT DKEK SHARE / KEY DOMAIN (INS 52), P2 = key domain:
 * - P1 00 with data: import one 32-byte DKEK share (no login needed);
 * - P1 00 without data: status;
 * - P1 01: create a DKEK domain expecting t shares (data = t);
 * - P1 02: register XKEK key-domain membership (policy/xkek.ts), answer + UID;
 * - P1 03: delete the domain (returns 6A88 on success, as the firmware);
 * - P1 04: clear the domain's DKEK.
 * Every answer but P1 03's is total ‖ outstanding ‖ KCV (8 bytes).
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { DKEK_LENGTH, KeyDomains, type DomainState } from "../hsm/key-domains.ts";
import { deleteDomainUid, registerMembership } from "../policy/xkek.ts";

export const importDkekShare: CommandHandler = async (ctx) => {
  const { p1, p2 } = ctx.apdu;

  if ((p1 === 0x01 || p1 === 0x03 || p1 === 0x04) && !(ctx.session.userPinSession && ctx.session.userAuthenticated)) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "KEY DOMAIN: this function needs the user PIN");
  }
  const state = await ctx.domains.checkedDomain(p2);

  switch (p1) {
    case 0x00:
      return { data: KeyDomains.statusBytes(await importOrQuery(ctx, p2, state)) };
    case 0x01:
      return { data: KeyDomains.statusBytes(await createDomain(ctx, p2, state)) };
    case 0x03:
      await deleteDomain(ctx, p2, state);
      return { sw: SW.REFERENCED_DATA_NOT_FOUND };
    case 0x04:
      return { data: KeyDomains.statusBytes(await ctx.domains.clear(p2, state)) };
    case 0x02:
      return { data: await registerMembership(ctx, p2, state) };
    default:
      throw new CardError(SW.INCORRECT_P1P2, `KEY DOMAIN: P1 ${p1.toString(16).padStart(2, "0")} not supported`);
  }
};

async function importOrQuery(ctx: CommandContext, domain: number, state: DomainState | null): Promise<DomainState> {
  const { data } = ctx.apdu;

  if (data.length === 0) {
    if (!state) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `key domain ${domain} is not set up`);
    return state;
  }

  if (data.length < DKEK_LENGTH) throw new CardError(SW.WRONG_LENGTH, `DKEK share must be ${DKEK_LENGTH} bytes, got ${data.length}`);
  const next = await ctx.domains.importShare(domain, data.subarray(0, DKEK_LENGTH));
  ctx.log.info("DKEK share imported", { domain, imported: next.imported, total: next.total });
  return next;
}

async function createDomain(ctx: CommandContext, domain: number, state: DomainState | null): Promise<DomainState> {
  const { data } = ctx.apdu;
  if (data.length !== 1) throw new CardError(SW.WRONG_LENGTH, "KEY DOMAIN P1 01: data must be the 1-byte number of shares");
  if (state) throw new CardError(SW.INCORRECT_P1P2, `key domain ${domain} already exists`);
  return ctx.domains.create(domain, data[0]);
}

async function deleteDomain(ctx: CommandContext, domain: number, state: DomainState | null): Promise<void> {
  if (!state) throw new CardError(SW.INCORRECT_P1P2, `key domain ${domain} is not set up`);

  for (const id of await ctx.objects.listKeyIds()) {
    const key = await ctx.objects.getKey(id);
    if (key?.meta.domain === domain) throw new CardError(SW.FILE_ALREADY_EXISTS, `key ${id} belongs to key domain ${domain}`);
  }
  await ctx.domains.remove(domain);
  await deleteDomainUid(ctx, domain);
}
