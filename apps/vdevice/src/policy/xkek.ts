/**
 * XKEK: key-domain exchange keys. Devices that are members of one key domain
 * derive the same DKEK by ECDH, without custodians.
 *
 * Membership (KEY DOMAIN P1 02): the data is the content of the group-signer
 * key's (GSK) authenticated request (7F21 ‖ 42 ‖ 5F37) followed by 54. That is
 * the GSK's signature over SHA-256(54 ‖ X), where X is the x coordinate of this
 * device's key. The GSK public point without its 04 prefix becomes the
 * domain's UID, kept in `xkek/uid/N`. A domain without shares is set up to
 * expect one.
 *
 * Derivation (DECIPHER P2 84 with an exchange key of that domain): the peer's
 * exchange-key certificate carries the UID in extension 65; the x coordinate of
 * the ECDH result becomes the DKEK of the domain with that UID, which is then
 * complete (1 of 1), so WRAP works in it.
 *
 * NOTE: the peer certificate's own signature is not checked, as on the
 * firmware; only its UID has to match the domain of the exchange key.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { decodeAuthenticatedRequest, verifyProofOfPossession, verifySignature, type AuthenticatedRequest } from "@hsmkit/cvc";
import { concatBytes } from "@hsmkit/tlv";
import type { CommandContext, KeyInfo } from "../hsm/context.ts";
import { DKEK_LENGTH, KeyDomains, type DomainState } from "../hsm/key-domains.ts";
import { flatTlvs } from "../hsm/tlv-walk.ts";
import { checkOuterSignature } from "./pka.ts";

const TAG_MEMBERSHIP_SIGNATURE = 0x54;

export function uidRecordName(domain: number): string {
  return `xkek/uid/${domain}`;
}

/** Returns the UID of `domain`, or undefined when it has none. */
export function readDomainUid(ctx: CommandContext, domain: number): Promise<Uint8Array | undefined> {
  return ctx.keystore.getFile(uidRecordName(domain));
}

/** Stages the removal of the UID of `domain` (KEY DOMAIN P1 03). */
export function deleteDomainUid(ctx: CommandContext, domain: number): Promise<void> {
  return ctx.keystore.delete(uidRecordName(domain));
}

/**
 * Runs KEY DOMAIN P1 02 for `domain`. Needs the user PIN (6985), a GSK
 * request that proves possession and whose outer signature verifies when its
 * CAR is in the trust store (6985), and a membership signature that verifies
 * for this device (6985). Returns the KEY DOMAIN status followed by the UID.
 */
export async function registerMembership(ctx: CommandContext, domain: number, state: DomainState | null): Promise<Uint8Array> {
  if (!(ctx.session.userPinSession && ctx.session.userAuthenticated)) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "KEY DOMAIN: this function needs the user PIN");
  }

  const { request, signature } = parseMembership(ctx.apdu.data);
  const gsk = request.request.body.publicKey;
  if (gsk.kind !== "ec") throw new CardError(SW.WRONG_DATA, `KEY DOMAIN P1 02: the group-signer key must be an EC key, got ${gsk.kind}`);
  if (!(await safely(() => verifyProofOfPossession(request)))) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "KEY DOMAIN P1 02: the group-signer request does not prove possession of its key");
  }
  await checkOuterSignature(ctx, request);

  const devicePoint = ctx.device.identity?.publicKey;
  if (!devicePoint) throw new CardError(SW.EXECUTION_ERROR, "KEY DOMAIN P1 02: the device key is missing");
  const x = devicePoint.subarray(1, 1 + (devicePoint.length - 1) / 2);
  const message = concatBytes(Uint8Array.of(TAG_MEMBERSHIP_SIGNATURE), x);
  if (!(await safely(() => verifySignature(gsk, message, signature)))) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "KEY DOMAIN P1 02: the membership signature does not verify for this device");
  }

  const uid = gsk.point.slice(1);
  await ctx.keystore.putFile(uidRecordName(domain), uid);
  const next = hasShares(state) ? state : await ctx.domains.create(domain, 1);
  ctx.log.info("key domain membership registered", { domain });
  return concatBytes(KeyDomains.statusBytes(next), uid);
}

/**
 * Makes `shared` (the ECDH result of exchange key `info` with a peer) the DKEK
 * of the key domain whose UID is `uid`. No such domain, or one other than the
 * exchange key's own, is 6A88; a domain that already has shares is 6985.
 */
export async function deriveDomainDkek(ctx: CommandContext, info: KeyInfo, uid: Uint8Array, shared: Uint8Array): Promise<void> {
  const domain = info.meta.domain ?? 0;
  const own = await readDomainUid(ctx, domain);
  if (own === undefined || !sameBytes(own, uid)) {
    throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `no key domain of exchange key ${info.id} has the XKEK UID of the peer certificate`);
  }

  const current = await ctx.domains.checkedDomain(domain);
  const state = hasShares(current) ? current : await ctx.domains.create(domain, 1);
  if (state.total !== 1 || state.imported !== 0) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `key domain ${domain} already has a DKEK or expects ${state.total} shares; clear it with KEY DOMAIN P1 04 first`);
  }

  await ctx.domains.importShare(domain, shared.subarray(0, DKEK_LENGTH));
  ctx.log.info("XKEK DKEK derived", { domain, key: info.id });
}

function parseMembership(data: Uint8Array): { request: AuthenticatedRequest; signature: Uint8Array } {
  const tlvs = flatTlvs(data);
  const signatureTlv = tlvs.find((tlv) => tlv.tag === TAG_MEMBERSHIP_SIGNATURE);
  if (!signatureTlv) throw new CardError(SW.WRONG_LENGTH, "KEY DOMAIN P1 02: the membership signature (tag 54) is missing");

  const requestBytes = data.subarray(0, data.length - encodedLength(signatureTlv.value));
  try {
    return { request: decodeAuthenticatedRequest(requestBytes), signature: signatureTlv.value };
  } catch (error) {
    throw new CardError(SW.WRONG_DATA, `KEY DOMAIN P1 02: not a group-signer request: ${(error as Error).message}`);
  }
}

/** Length of a 54 TLV with `value` (1-byte tag, short or 81/82 length). */
function encodedLength(value: Uint8Array): number {
  if (value.length < 0x80) return 2 + value.length;
  if (value.length < 0x100) return 3 + value.length;
  return 4 + value.length;
}

async function safely(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}

/** Reports whether a domain expects shares; an unset domain or one of INITIALIZE's "0 shares" entries does not. */
function hasShares(state: DomainState | null): state is DomainState {
  return state !== null && state.total > 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
