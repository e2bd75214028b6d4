/**
 * GENERATE SYMMETRIC KEY (INS 48): `80 48 kk P2`, data = optional metadata TLVs 90–93.
 * P2 B0/B1/B2/B3 give an AES-128/192/256 key or a 512-bit AES-256-XTS key pair; any other P2
 * gives AES-256, as on the firmware. Stores the random key under id kk (replacing any key
 * there) with the default AES PRKD in C4 kk; no certificate, no response data.
 */
import type { CommandHandler, KeyInfo } from "../hsm/context.ts";

/** Key length in bytes by P2. */
const KEY_BYTES: ReadonlyMap<number, number> = new Map([
  [0xb0, 16],
  [0xb1, 24],
  [0xb2, 32],
  [0xb3, 64],
]);

const DEFAULT_KEY_BYTES = 32;

export const generateSymmetricKey: CommandHandler = async (ctx) => {
  const { p1: keyId, p2 } = ctx.apdu;
  ctx.requireLogin();
  ctx.refuseDeviceKey(keyId);

  const meta = ctx.newKeyMetadata(ctx.dataTlvs());
  ctx.requireKeyMaterial();

  const length = KEY_BYTES.get(p2) ?? DEFAULT_KEY_BYTES;
  const secret = ctx.random(length);
  const info: KeyInfo = { id: keyId, type: "aes", bits: 8 * length, meta };
  try {
    await ctx.storeKey({ info, privateKey: secret });
  } finally {
    secret.fill(0);
  }
};
