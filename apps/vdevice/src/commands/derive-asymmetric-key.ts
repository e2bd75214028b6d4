/**
 * DERIVE ASYMMETRIC KEY (INS 76): `80 76 src dst`, data = `98 ‖ s` (algorithm byte 98, then a
 * big-endian scalar). Stores d' = (d + s) mod n, with d the private key of EC key `src`, as EC
 * key `dst` on the same curve (replacing any key there) with the default EC PRKD in C4 dst; no
 * metadata and no certificate. The firmware reduces modulo the field prime instead, which gives
 * the same key whenever its result is usable.
 *
 * Status words: empty data or a first byte other than 98 6700; a source that is RSA, AES, X25519,
 * X448, Ed25519 or Ed448, or d' = 0, 6400; key 0 as source or destination 6982.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { bigIntToBytes, bytesToBigInt, curveByName } from "../crypto/curves.ts";
import { ecPublicPoint, type EcPrivateKey } from "../crypto/ec.ts";
import type { CommandHandler, KeyInfo } from "../hsm/context.ts";
import { encodeAsymmetricKey, loadAsymmetricKey } from "../keys/private-key.ts";

/** Algorithm byte of EC key derivation: the first data byte and the entry a key's algorithm list needs. */
export const ALGORITHM_EC_DERIVE = 0x98;

export const deriveAsymmetricKey: CommandHandler = async (ctx) => {
  const { p1: sourceId, p2: destinationId, data } = ctx.apdu;
  const info = await ctx.beginKeyUse(sourceId, ALGORITHM_EC_DERIVE);
  ctx.refuseDeviceKey(destinationId);

  if (data.length === 0 || data[0] !== ALGORITHM_EC_DERIVE) {
    throw new CardError(SW.WRONG_LENGTH, "DERIVE ASYMMETRIC KEY data must be 98 followed by the scalar to add");
  }

  const source = await loadAsymmetricKey(ctx, info);
  if (source.type !== "ec") throw new CardError(SW.EXECUTION_ERROR, `key ${sourceId} is not a short-Weierstrass EC key and cannot be derived from`);

  const derived = addScalar(source.key, data.subarray(1));
  source.key.d.fill(0);

  const publicKey = ecPublicPoint(derived);
  const destination: KeyInfo = { id: destinationId, type: "ec", curve: derived.curve, bits: info.bits, publicKey, meta: {} };
  await ctx.finishKeyUse(info);

  const sealed = encodeAsymmetricKey({ type: "ec", key: derived });
  try {
    await ctx.storeKey({ info: destination, privateKey: sealed });
  } finally {
    sealed.fill(0);
    derived.d.fill(0);
  }
};

/** Returns d' = (d + s) mod n on the key's curve; throws CardError 6400 when d' is zero. */
function addScalar(key: EcPrivateKey, scalar: Uint8Array): EcPrivateKey {
  const info = curveByName(key.curve);
  const n = info.curve.Point.CURVE().n;
  const d = (bytesToBigInt(key.d) + bytesToBigInt(scalar)) % n;
  if (d === 0n) throw new CardError(SW.EXECUTION_ERROR, "the derived private key is zero");
  return { curve: key.curve, d: bigIntToBytes(d, info.orderBytes) };
}
