/**
 * SIGNATURE algorithm A0: ECDSA with the HD node loaded by BIP/SLIP P1 = 10.
 *
 * `80 68 kk A0 <digest>`: the data is the digest as given (pypicohsm sends
 * SHA-256 of the message); the response is DER SEQUENCE { r, s } on the node's
 * curve. P1 must name an existing key, whose usage counter and algorithm list
 * are checked and whose counter is decremented after success, but that key is
 * not used: pypicohsm sends 00, the device key, which A0 alone may name.
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { ALGORITHM } from "../keys/algorithms.ts";
import { ecdsaSignDigest } from "../crypto/ec.ts";
import type { CommandContext, KeyInfo } from "../hsm/context.ts";
import { HD_TYPE, takePendingNode, wipePendingNode } from "./pending-node.ts";

/**
 * Signs the command data with the pending node and consumes it, also when a
 * check fails. Errors: 6982 without login; 6A82, 6A84, 6985 from the key
 * checks of P1; 6985 without a pending curve node; 6700 for empty data.
 */
export async function signWithPendingHdNode(ctx: CommandContext): Promise<AppletResponse> {
  const node = takePendingNode(ctx.session);
  try {
    ctx.requireLogin();
    const info = await checkKeyReference(ctx, ctx.apdu.p1);

    if (!node) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "algorithm A0: no HD node is pending (load one with BIP/SLIP P1 10 first)");
    if (node.type === HD_TYPE.SYMMETRIC) {
      throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "algorithm A0: the pending HD node is a SLIP-21 (symmetric) node and cannot sign");
    }
    if (ctx.apdu.data.length === 0) throw new CardError(SW.WRONG_LENGTH, "algorithm A0 needs the digest to sign, got no data");

    const curve = node.type === HD_TYPE.SECP256K1 ? "secp256k1" : "secp256r1";
    const signature = ecdsaSignDigest({ curve, d: node.privateKey }, ctx.apdu.data);

    if (info) await ctx.finishKeyUse(info);
    ctx.log.debug("signed with the pending HD node", { key: ctx.apdu.p1, curve });
    return { data: signature };
  } finally {
    wipePendingNode(node);
  }
}

/**
 * Checks key P1 as SIGNATURE does, without loading it: 6A82 when it does not
 * exist, 6A84 when its counter is exhausted, 6985 when A0 is not in its
 * algorithm list. Key 0 (the device key) has no counter or list; it returns
 * undefined for it.
 */
async function checkKeyReference(ctx: CommandContext, keyId: number): Promise<KeyInfo | undefined> {
  if (keyId === 0) {
    if (!(await ctx.objects.hasDeviceKey())) throw new CardError(SW.FILE_NOT_FOUND, "key 0 (the device key) not found");
    return undefined;
  }

  const info = await ctx.findKey(keyId);
  if (info.meta.counter === 0) throw new CardError(SW.NOT_ENOUGH_MEMORY, `key ${keyId}: usage counter exhausted`);
  if (info.meta.algorithms && !info.meta.algorithms.includes(ALGORITHM.HD_SIGN)) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `key ${keyId}: algorithm A0 not allowed`);
  }
  return info;
}
