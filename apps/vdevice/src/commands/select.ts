/**
 * SELECT (INS A4) of files inside the HSM applet: by FID, the MF, or a path.
 * SELECT by AID (P1 04, P2 00/04) never gets here: the card runtime handles it.
 *
 * A 2-byte FID other than 0000 is looked up directly, whatever P1 is. The
 * response is always an FCP (tag 62); the selected EF becomes the current EF.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { FID, HSM_AID } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { encodeFcp, findFile, type FileEntry } from "../hsm/files.ts";

/** Deepest path SELECT P1 08/09 accepts, in FIDs. */
const MAX_PATH_DEPTH = 4;

export const select: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;
  if ((p2 & 0xfc) !== 0x00 && (p2 & 0xfc) !== 0x04) {
    throw new CardError(SW.INCORRECT_P1P2, `SELECT P2 ${hex(p2)} not supported (FCP only)`);
  }

  const entry = await resolve(ctx, p1, data);
  if (entry.kind === "ef" || entry.kind === "key") ctx.session.currentEf = entry.fid;
  return { data: encodeFcp(entry) };
};

async function resolve(ctx: CommandContext, p1: number, data: Uint8Array): Promise<FileEntry> {
  if (data.length === 2) {
    const fid = (data[0] << 8) | data[1];
    if (fid !== 0x0000) return findOrFail(ctx, fid);
  }

  switch (p1) {
    case 0x00:
      if (data.length === 0 || isZeroFid(data)) return { kind: "df", fid: FID.MF };
      throw notFound();
    case 0x01:
    case 0x02:
      throw notFound();
    case 0x04:
      if (equalBytes(data, HSM_AID)) return { kind: "df", fid: 0x0000 };
      throw notFound();
    case 0x08:
    case 0x09:
      return resolvePath(ctx, data);
    default:
      throw new CardError(SW.INCORRECT_P1P2, `SELECT P1 ${hex(p1)} not supported`);
  }
}

/**
 * Resolves a path of FIDs below the MF (a leading 3F00 is skipped). DF.PKCS15
 * (5015) exists but contains none of the files clients request (5015/4946 is
 * OpenSC's optional pkcs15-init file), so only 5015 itself and single FIDs resolve.
 */
async function resolvePath(ctx: CommandContext, data: Uint8Array): Promise<FileEntry> {
  if (data.length === 0 || data.length % 2 !== 0 || data.length / 2 > MAX_PATH_DEPTH) throw notFound();

  const fids: number[] = [];
  for (let i = 0; i < data.length; i += 2) fids.push((data[i] << 8) | data[i + 1]);
  if (fids[0] === FID.MF) fids.shift();

  if (fids.length === 0) return { kind: "df", fid: FID.MF };
  if (fids.length === 1 && fids[0] === FID.DF_PKCS15) return { kind: "df", fid: FID.DF_PKCS15 };
  if (fids.length === 1 && fids[0] !== 0x0000) return findOrFail(ctx, fids[0]);
  throw notFound();
}

async function findOrFail(ctx: CommandContext, fid: number): Promise<FileEntry> {
  const entry = await findFile(fid, ctx.objects, ctx.device);
  if (!entry) throw new CardError(SW.FILE_NOT_FOUND, `file ${fid.toString(16).toUpperCase().padStart(4, "0")} not found`);
  return entry;
}

function notFound(): CardError {
  return new CardError(SW.FILE_NOT_FOUND, "file not found");
}

function isZeroFid(data: Uint8Array): boolean {
  return data.length === 2 && data[0] === 0 && data[1] === 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
