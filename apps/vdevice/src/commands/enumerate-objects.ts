/**
 * ENUMERATE OBJECTS (INS 58, "list keys"): 2-byte FIDs back to back, in this
 * order: C400; CC00 when the device key exists; CC n of every key; every
 * non-empty C4 n (n ≥ 1); every non-empty C8 n and C9 n. Certificates (CE),
 * CA certificates and data objects (CF, CD) are never listed: clients find them
 * through the keys and descriptions. OpenSC picks the lowest n not listed as
 * CC n for a new key, so CC00 keeps it off the device key.
 */
import { FID, PREFIX, fidOf } from "../hsm/constants.ts";
import type { CommandHandler } from "../hsm/context.ts";
import { highByte, lowByte } from "../hsm/files.ts";

export const enumerateObjects: CommandHandler = async (ctx) => {
  const fids: number[] = [FID.DEVICE_KEY_PRKD];
  if (await ctx.objects.hasDeviceKey()) fids.push(FID.DEVICE_KEY);

  for (const id of await ctx.objects.listKeyIds()) fids.push(fidOf(PREFIX.KEY, id));

  const files = await ctx.objects.listFiles();
  const nonEmpty = async (fid: number) => ((await ctx.objects.readFile(fid))?.length ?? 0) > 0;

  for (const prefix of [PREFIX.PRKD, PREFIX.CD, PREFIX.DCOD]) {
    for (const fid of files) {
      if (highByte(fid) !== prefix || fid === FID.DEVICE_KEY_PRKD) continue;
      if (prefix === PREFIX.PRKD && lowByte(fid) === 0) continue;
      if (await nonEmpty(fid)) fids.push(fid);
    }
  }

  const data = new Uint8Array(fids.length * 2);
  fids.forEach((fid, i) => {
    data[2 * i] = fid >> 8;
    data[2 * i + 1] = fid & 0xff;
  });
  return { data };
};
