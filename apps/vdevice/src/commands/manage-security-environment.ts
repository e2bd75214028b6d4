/**
 * MANAGE SECURITY ENVIRONMENT (INS 22), the SET forms. P1 must have bit 0 set
 * (41, 81, C1, …) and P2 names the control reference template (CRT): A4
 * authentication, A6 key agreement, AA hash, B4 checksum, B6 digital
 * signature, B8 confidentiality. The data is TLVs:
 *
 *   A4 with 80 <OID>   id-CA-ECDH-AES-CBC-CMAC-128 selects chip authentication for
 *                      the next GENERAL AUTHENTICATE and ends any open SM channel;
 *                      other OIDs are ignored, as on the firmware
 *   B6 with 83 <CHR>   selects a certificate of the CV trust store (EF 2F02 and the
 *                      CA n files) by its certificate holder reference as the issuer
 *                      for PSO VERIFY CERTIFICATE: 9000, or 6A88 when none matches
 *   A4 with 83 <CHR>   selects a registered PUK for EXTERNAL AUTHENTICATE: 9000,
 *                      6985 when it already authenticated, 6A88 when none matches
 *   other CRTs with 83 6A88
 *
 * A tag 83 of one byte (a key number) and every other tag are ignored.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { ID_CA_ECDH_AES_CBC_CMAC_128 } from "@hsmkit/sm-channel";
import { findByChr, loadTrustStore } from "../attestation/trust-store.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { readPkaConfig, readSlot } from "../policy/pka.ts";

const CRT_AUTHENTICATION = 0xa4;
const CRT_DIGITAL_SIGNATURE = 0xb6;
const ALLOWED_CRTS = new Set([0xa4, 0xa6, 0xaa, 0xb4, 0xb6, 0xb8]);

const TAG_PROTOCOL = 0x80;
const TAG_KEY_REFERENCE = 0x83;

export const manageSecurityEnvironment: CommandHandler = async (ctx) => {
  const { p1, p2 } = ctx.apdu;
  if ((p1 & 0x01) === 0) throw new CardError(SW.INCORRECT_P1P2, `MSE: P1 ${hex(p1)} is not a SET form (bit 0 must be set)`);
  if (!ALLOWED_CRTS.has(p2)) throw new CardError(SW.INCORRECT_P1P2, `MSE: P2 ${hex(p2)} is not a supported control reference template`);

  for (const tlv of ctx.dataTlvs()) {
    if (tlv.tag === TAG_PROTOCOL && p2 === CRT_AUTHENTICATION) {
      if (sameBytes(tlv.value, ID_CA_ECDH_AES_CBC_CMAC_128)) ctx.session.secureMessaging.selectProtocol();
    } else if (tlv.tag === TAG_KEY_REFERENCE && tlv.value.length !== 1) {
      await selectKeyReference(ctx, p2, new TextDecoder().decode(tlv.value));
    }
  }
};

async function selectKeyReference(ctx: CommandContext, crt: number, chr: string): Promise<void> {
  if (crt === CRT_AUTHENTICATION) return selectPuk(ctx, chr);
  if (crt !== CRT_DIGITAL_SIGNATURE) {
    throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `MSE: no public key with CHR "${chr}" is registered`);
  }

  const entry = findByChr(await loadTrustStore(ctx.objects), chr);
  if (entry === undefined) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `MSE: no certificate with CHR "${chr}" in the trust store`);
  ctx.session.verificationIssuer = chr;
}

/**
 * Selects the registered PUK whose CHR is a prefix of `chr` (compared over the
 * stored CHR's length) for EXTERNAL AUTHENTICATE: 9000, 6985 when it already
 * authenticated since the last GET CHALLENGE, 6A88 when none matches.
 */
async function selectPuk(ctx: CommandContext, chr: string): Promise<void> {
  const config = await readPkaConfig(ctx.keystore);
  for (let slot = 0; config && slot < config.total; slot++) {
    const stored = (await readSlot(ctx.keystore, slot))?.request.body.chr;
    if (stored === undefined || !chr.startsWith(stored)) continue;

    if (ctx.session.pka.authenticated.has(slot)) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `MSE: PUK "${stored}" already authenticated`);
    ctx.session.pka.selectedSlot = slot;
    return;
  }
  throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `MSE: no public key with CHR "${chr}" is registered`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
