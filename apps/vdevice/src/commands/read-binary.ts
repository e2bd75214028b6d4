/**
 * READ BINARY (INS B0, and the odd INS B1 whose offset travels in data object 54).
 *
 * Everything a client reads for PKCS#15 (2F02, 2F03, C4 n, CE n, C9 n, CF n) is
 * readable without login; keys, reserved and internal FIDs never are. A read at
 * offset = size returns no data and 9000, because OpenSC reads every PKCS#15
 * file until it gets that empty answer.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { MAX_RESPONSE_DATA, PREFIX } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";
import { findFile, highByte, isGeneratedFile, isInternalFile, isKeyFid, isReservedFid, lowByte } from "../hsm/files.ts";
import { flatTlvs } from "../hsm/tlv-walk.ts";

interface ReadTarget {
  /** FID, or undefined for the current EF. */
  fid: number | undefined;
  offset: number;
}

export const readBinary: CommandHandler = async (ctx) => {
  const target = ctx.apdu.ins === 0xb0 ? parseEvenForm(ctx) : parseOddForm(ctx);

  const fid = target.fid ?? ctx.session.currentEf;
  if (fid === undefined) throw new CardError(SW.FILE_NOT_FOUND, "READ BINARY: no current EF");

  await checkReadable(ctx, fid);

  const entry = await findFile(fid, ctx.objects, ctx.device);
  if (!entry || entry.kind !== "ef") throw new CardError(SW.FILE_NOT_FOUND, `READ BINARY: file ${formatFid(fid)} not found`);
  if (target.fid !== undefined) ctx.session.currentEf = fid;

  const { content } = entry;
  const size = content.length;

  if (isGeneratedFile(fid)) {
    if (target.offset > size) throw new CardError(SW.WRONG_P1P2, `READ BINARY offset ${target.offset} beyond the end (${size})`);
    const data = content.subarray(target.offset, target.offset + limit(ctx));
    return { data, ne: data.length };
  }

  if (size === 0) return {};
  if (target.offset > size) throw new CardError(SW.END_OF_FILE, `READ BINARY offset ${target.offset} beyond the end (${size})`);
  return { data: content.subarray(target.offset, target.offset + limit(ctx)) };
};

/** B0: P1 bit 8 set = short FID (none exist); otherwise the current EF at offset P1P2 & 7FFF. */
function parseEvenForm(ctx: CommandContext): ReadTarget {
  const { p1, p2 } = ctx.apdu;
  if ((p1 & 0x80) !== 0) throw new CardError(SW.FILE_NOT_FOUND, `READ BINARY: short FID ${p1 & 0x1f} not found`);
  return { fid: undefined, offset: ((p1 << 8) | p2) & 0x7fff };
}

/** B1: P1 00 with P2 01..1E = short FID (none exist); otherwise FID P1P2 (0000 = current EF), data `54 L offset`. */
function parseOddForm(ctx: CommandContext): ReadTarget {
  const { p1, p2, data } = ctx.apdu;
  if (p1 === 0x00 && p2 >= 0x01 && p2 <= 0x1e) throw new CardError(SW.FILE_NOT_FOUND, `READ BINARY: short FID ${p2} not found`);

  const offsetObject = flatTlvs(data).find((tlv) => tlv.tag === 0x54);
  if (!offsetObject || offsetObject.value.length > 4) {
    throw new CardError(SW.WRONG_LENGTH, "READ BINARY (B1): data must be 54 L offset with L = 0..4");
  }

  const fid = (p1 << 8) | p2;
  return { fid: fid === 0 ? undefined : fid, offset: readUnsigned(offsetObject.value) };
}

/**
 * Access rules: keys (CC n) and key records (C7 n, n ≥ 1) of an existing key
 * return 6982, otherwise 6A82; PIN-protected data (CD n) needs UA; internal
 * files (10xx, 11xx) never.
 */
async function checkReadable(ctx: CommandContext, fid: number): Promise<void> {
  if (isInternalFile(fid)) throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, `file ${formatFid(fid)} is internal`);

  if (isKeyFid(fid) || isReservedFid(fid)) {
    const id = lowByte(fid);
    const exists = id === 0 ? isKeyFid(fid) && (await ctx.objects.hasDeviceKey()) : (await ctx.objects.getKey(id)) !== undefined;
    if (exists) throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, `key ${id} is never readable`);
    throw new CardError(SW.FILE_NOT_FOUND, `file ${formatFid(fid)} not found`);
  }

  if (highByte(fid) === PREFIX.PROTECTED_DATA && !ctx.session.userAuthenticated) {
    throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, `file ${formatFid(fid)} needs the user PIN`);
  }
}

/** Bytes one READ returns: Ne (when given), at most MAX_RESPONSE_DATA. */
function limit(ctx: CommandContext): number {
  const ne = ctx.apdu.ne;
  return ne > 0 ? Math.min(ne, MAX_RESPONSE_DATA) : MAX_RESPONSE_DATA;
}

function readUnsigned(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

function formatFid(fid: number): string {
  return fid.toString(16).toUpperCase().padStart(4, "0");
}
