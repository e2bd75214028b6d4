/**
 * UPDATE BINARY (odd INS D7, "UPDATE EF"): P1P2 = FID (0000 = current EF),
 * data = `54 L offset` and `53 L content` (the last occurrence of each wins).
 *
 * Forms:
 * - create: offset 0 and no or empty 53 → the EF exists afterwards (an existing
 *   one is left unchanged) and becomes the current EF;
 * - replace: offset 0 with content → the EF contains exactly the content;
 * - patch: offset > 0 → written at offset into an EF with content, extending it.
 *
 * 2F00 and 2F03 accept writes as an override of their generated content, which
 * INITIALIZE drops.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { FID } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import {
  findFile,
  isInternalFile,
  isKeyFid,
  isKeySidecar,
  isReservedFid,
  lowByte,
  MAX_FILE_SIZE,
} from "../hsm/files.ts";
import { lastTlv } from "../hsm/tlv-walk.ts";

export const updateBinary: CommandHandler = async (ctx) => {
  ctx.requireLogin();

  const requested = (ctx.apdu.p1 << 8) | ctx.apdu.p2;
  const fid = requested === 0 ? ctx.session.currentEf : requested;
  if (fid === undefined) throw new CardError(SW.FILE_NOT_FOUND, "UPDATE BINARY: no current EF");

  await checkWritable(ctx, fid);
  const { offset, content } = parseData(ctx.apdu.data);

  const entry = await findFile(fid, ctx.objects, ctx.device);
  const current = entry?.kind === "ef" ? entry.content : undefined;
  const stored = await ctx.objects.readFile(fid);

  if (offset === 0 && content.length === 0) {
    if (!stored && !current) await ctx.objects.writeFile(fid, new Uint8Array(0));
  } else if (offset === 0) {
    await ctx.objects.writeFile(fid, checkedSize(content, content.length));
  } else {
    await ctx.objects.writeFile(fid, patch(current, offset, content));
  }

  ctx.session.currentEf = fid;
};

/**
 * Write access: reserved key records (C7 n), keys (CC n: their raw bytes could
 * never become key material, so writes are refused), internal files and C400
 * are 6982; a key's C4 n / CE n needs a PIN session. CE00 and 2F02 need only
 * the login every UPDATE needs.
 */
async function checkWritable(ctx: CommandContext, fid: number): Promise<void> {
  const refuse = (why: string) => new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, `UPDATE BINARY: ${why}`);

  if (isReservedFid(fid) || isKeyFid(fid) || isInternalFile(fid)) throw refuse(`file ${formatFid(fid)} is not writable`);
  if (fid === FID.DEVICE_KEY_PRKD) throw refuse("C400 is read-only");

  if (isKeySidecar(fid) && !ctx.session.hasPinSession && (await ctx.objects.getKey(lowByte(fid)))) {
    throw refuse(`file ${formatFid(fid)} of an existing key needs a PIN session`);
  }
}

function parseData(data: Uint8Array): { offset: number; content: Uint8Array } {
  const offsetBytes = lastTlv(data, 0x54);
  if (offsetBytes && offsetBytes.length > 4) throw new CardError(SW.WRONG_LENGTH, "UPDATE BINARY: offset (54) longer than 4 bytes");

  let offset = 0;
  for (const byte of offsetBytes ?? []) offset = offset * 256 + byte;

  return { offset, content: lastTlv(data, 0x53) ?? new Uint8Array(0) };
}

/** Writes `content` at `offset` into `current`; the EF must have content and the offset must not pass its end. */
function patch(current: Uint8Array | undefined, offset: number, content: Uint8Array): Uint8Array {
  if (!current || current.length === 0) {
    throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `UPDATE BINARY at offset ${offset} into an empty file`);
  }
  if (offset > current.length) {
    throw new CardError(SW.MEMORY_FAILURE, `UPDATE BINARY offset ${offset} beyond the end (${current.length})`);
  }

  const length = Math.max(current.length, offset + content.length);
  const out = new Uint8Array(checkedLength(length));
  out.set(current);
  out.set(content, offset);
  return out;
}

function checkedSize(content: Uint8Array, length: number): Uint8Array {
  checkedLength(length);
  return content.slice();
}

function checkedLength(length: number): number {
  if (length > MAX_FILE_SIZE) throw new CardError(SW.NOT_ENOUGH_MEMORY, `file would exceed ${MAX_FILE_SIZE} bytes`);
  return length;
}

function formatFid(fid: number): string {
  return fid.toString(16).toUpperCase().padStart(4, "0");
}
