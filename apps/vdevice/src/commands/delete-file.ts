/**
 * DELETE FILE (INS E4): data = 2-byte FID, or empty for the current EF.
 *
 * Deleting CC n deletes key n but leaves its C4 n and CE n; deleting C4 n or
 * CE n of an existing key leaves the key usable (OpenSC deletes and re-creates
 * CE n right after key generation).
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import {
  findFile,
  isDeviceIdentityFile,
  isGeneratedFile,
  isInternalFile,
  isKeyFid,
  isKeySidecar,
  isReservedFid,
  lowByte,
} from "../hsm/files.ts";

export const deleteFile: CommandHandler = async (ctx) => {
  ctx.requireLogin();

  const fid = targetFid(ctx);
  if (isReservedFid(fid)) throw notFound(fid);

  if (isKeyFid(fid)) {
    await deleteKey(ctx, lowByte(fid));
  } else {
    await deleteEf(ctx, fid);
  }

  if (ctx.session.currentEf === fid) ctx.session.currentEf = undefined;
  ctx.log.info("file deleted", { fid: formatFid(fid) });
};

function targetFid(ctx: CommandContext): number {
  const { data } = ctx.apdu;
  if (data.length === 2) return (data[0] << 8) | data[1];
  if (data.length !== 0) throw new CardError(SW.WRONG_LENGTH, `DELETE FILE: data must be a 2-byte FID, got ${data.length} bytes`);

  const current = ctx.session.currentEf;
  if (current === undefined) throw new CardError(SW.FILE_NOT_FOUND, "DELETE FILE: no current EF");
  return current;
}

async function deleteKey(ctx: CommandContext, id: number): Promise<void> {
  if (id === 0) throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "DELETE FILE: the device key cannot be deleted");
  if (!(await ctx.objects.getKey(id))) throw notFound((0xcc << 8) | id);
  await ctx.objects.deleteKey(id);
}

async function deleteEf(ctx: CommandContext, fid: number): Promise<void> {
  if (isKeySidecar(fid) && (await ctx.objects.getKey(lowByte(fid))) && !ctx.session.hasPinSession) {
    throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, `DELETE FILE: ${formatFid(fid)} of an existing key needs a PIN session`);
  }

  if (isGeneratedFile(fid)) throw new CardError(SW.COMMAND_NOT_ALLOWED, `DELETE FILE: ${formatFid(fid)} is generated`);
  if (isInternalFile(fid) || isDeviceIdentityFile(fid)) {
    throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, `DELETE FILE: ${formatFid(fid)} cannot be deleted`);
  }

  const entry = await findFile(fid, ctx.objects, ctx.device);
  if (!entry) throw notFound(fid);
  await ctx.objects.deleteFile(fid);
}

function notFound(fid: number): CardError {
  return new CardError(SW.FILE_NOT_FOUND, `DELETE FILE: ${formatFid(fid)} not found`);
}

function formatFid(fid: number): string {
  return fid.toString(16).toUpperCase().padStart(4, "0");
}
