/**
 * GENERAL AUTHENTICATE (INS 86): the card side of chip authentication. Data
 * 7C L 80 L <PK_PCD>, the host's ephemeral public key on secp256r1 (the curve
 * of the device key). The device computes Z = x(d_dev · PK_PCD) with the device
 * key (key 0), derives the session keys with a fresh 8-byte nonce, opens the SM
 * channel (SSC 0) and returns 7C 14 81 08 <nonce> 82 08 <token>.
 *
 * Status words, in the order checked: P1 P2 other than 00 00 or data not
 * starting with 7C → 9000 without data (as the firmware); Nc < 2, a 7C length
 * other than Nc − 2, or no tag 80 → 6700; no MSE SET AT before → 6985; no PIN
 * session while chip authentication before VERIFY is switched off → 6400; a
 * point not on the curve → 6984.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { answerChipAuthentication, NONCE_LENGTH } from "@hsmkit/sm-channel";
import { p256 } from "@noble/curves/nist.js";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { flatTlvs } from "../hsm/tlv-walk.ts";

const TAG_DYNAMIC_AUTHENTICATION_DATA = 0x7c;
const TAG_EPHEMERAL_PUBLIC_KEY = 0x80;

export const generalAuthenticate: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;
  if (p1 !== 0x00 || p2 !== 0x00) return;

  if (data.length < 2) throw new CardError(SW.WRONG_LENGTH, `GENERAL AUTHENTICATE: ${data.length} data bytes, expected 7C L 80 L <public key>`);
  if (data[0] !== TAG_DYNAMIC_AUTHENTICATION_DATA) return;
  if (data[1] !== data.length - 2) throw new CardError(SW.WRONG_LENGTH, `GENERAL AUTHENTICATE: 7C length ${data[1]} does not match the ${data.length - 2} bytes that follow`);

  const ephemeral = ephemeralPublicKey(data.subarray(2));
  const sm = ctx.session.secureMessaging;
  if (!sm.protocolSelected) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "GENERAL AUTHENTICATE: select chip authentication with MSE SET AT first");
  if (!sm.allowBeforePin) ctx.requireKeyMaterial();

  const sharedSecret = await sharedSecretWith(ctx, ephemeral);
  try {
    const { channel, response } = answerChipAuthentication(ephemeral, sharedSecret, ctx.random(NONCE_LENGTH));
    sm.open(channel);
    ctx.log.info("secure messaging session opened");
    return { data: response };
  } finally {
    sharedSecret.fill(0);
  }
};

function ephemeralPublicKey(template: Uint8Array): Uint8Array {
  const found = flatTlvs(template).find((tlv) => tlv.tag === TAG_EPHEMERAL_PUBLIC_KEY);
  if (found === undefined) throw new CardError(SW.WRONG_LENGTH, "GENERAL AUTHENTICATE: missing tag 80 (ephemeral public key)");
  return found.value.slice();
}

/** Returns Z, the x-coordinate of d_dev · PK_PCD; 6984 when the point is not on secp256r1. */
async function sharedSecretWith(ctx: CommandContext, point: Uint8Array): Promise<Uint8Array> {
  const deviceKey = await ctx.objects.loadDeviceKey();
  if (deviceKey === undefined) throw new CardError(SW.EXECUTION_ERROR, "GENERAL AUTHENTICATE: the device key is missing");
  try {
    const shared = p256.getSharedSecret(deviceKey, point, true);
    const z = shared.slice(1);
    shared.fill(0);
    return z;
  } catch (error) {
    throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `GENERAL AUTHENTICATE: the ephemeral public key is not a secp256r1 point (${(error as Error).message})`);
  } finally {
    deviceKey.fill(0);
  }
}
