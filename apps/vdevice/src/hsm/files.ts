/**
 * Classification of FIDs, the generated files EF.DIR (2F00) and EF.TokenInfo
 * (2F03), and the FCP (file control parameters, tag 62) that SELECT returns.
 */
import { concatBytes, encodeTlv } from "@hsmkit/tlv";
import { FID, HSM_AID, PREFIX, VERSION_MAJOR } from "./constants.ts";
import type { DeviceState } from "./device-state.ts";
import { encodeKeyMetadata, type KeyInfo } from "./key-info.ts";
import type { ObjectStore } from "./objects.ts";

/** File descriptor bytes (FCP tag 82). */
export const FDB = { WORKING_EF: 0x01, INTERNAL_EF: 0x08, DF: 0x38 } as const;

/** Largest content of one EF, bytes; a write that would pass it returns 6A84. */
export const MAX_FILE_SIZE = 1 << 20;

/** Application label in EF.DIR and EF.TokenInfo. */
const LABEL = "Pico-HSM";
const MANUFACTURER = "Pol Henarejos";

/** Static EFs that exist (empty) until written: EF.ATR, the PKCS#15 EFs 5031–5033 and 6040–6045. */
const STATIC_EMPTY_EFS = new Set([0x2f01, 0x5031, 0x5032, 0x5033, 0x6040, 0x6041, 0x6042, 0x6043, 0x6044, 0x6045]);

export function highByte(fid: number): number {
  return (fid >> 8) & 0xff;
}

export function lowByte(fid: number): number {
  return fid & 0xff;
}

/** 2F00 and 2F03: content generated on read unless the host wrote an override. */
export function isGeneratedFile(fid: number): boolean {
  return fid === FID.EF_DIR || fid === FID.EF_TOKEN_INFO;
}

/** Internal files (PIN records, options, DKEKs, PUKs, HD seeds, ...): FIDs 10xx and 11xx. */
export function isInternalFile(fid: number): boolean {
  const high = highByte(fid);
  return high === 0x10 || high === 0x11;
}

/** C7 n: the firmware's physical key records, reserved here. */
export function isReservedFid(fid: number): boolean {
  return highByte(fid) === PREFIX.KEY_CONTAINER;
}

export function isKeyFid(fid: number): boolean {
  return highByte(fid) === PREFIX.KEY;
}

/** C4 n and CE n with n ≥ 1: the PRKD and certificate of user key n. */
export function isKeySidecar(fid: number): boolean {
  const high = highByte(fid);
  return (high === PREFIX.PRKD || high === PREFIX.EE_CERTIFICATE) && lowByte(fid) !== 0;
}

export function isStaticEmptyFile(fid: number): boolean {
  return STATIC_EMPTY_EFS.has(fid);
}

/** Device identity files that are FDB 08 and never deletable: C400, CE00. */
export function isDeviceIdentityFile(fid: number): boolean {
  return fid === FID.DEVICE_KEY_PRKD || fid === FID.DEVICE_KEY_REQUEST;
}

/** Returns the generated content of 2F00 or 2F03. */
export function generatedContent(fid: number, device: DeviceState): Uint8Array {
  const text = new TextEncoder();
  if (fid === FID.EF_DIR) {
    return encodeTlv(0x61, [encodeTlv(0x4f, HSM_AID), encodeTlv(0x50, text.encode(LABEL))]);
  }

  const serial = device.identity?.serial.slice(0, 8) ?? new Uint8Array(8);
  return encodeTlv(0x30, [
    encodeTlv(0x02, new Uint8Array([VERSION_MAJOR])),
    encodeTlv(0x04, serial),
    encodeTlv(0x0c, text.encode(MANUFACTURER)),
    encodeTlv(0x80, text.encode(LABEL)),
    encodeTlv(0x03, new Uint8Array([0x04, 0x30])),
  ]);
}

/** Something SELECT can find. */
export type FileEntry =
  | { kind: "ef"; fid: number; content: Uint8Array; fdb: number }
  | { kind: "key"; fid: number; key?: KeyInfo }
  | { kind: "df"; fid: number };

/**
 * Looks up an EF or key by FID the way SELECT and READ BINARY do: the stored
 * content, the generated files (or their override), the static empty EFs and
 * CC n keys. Returns undefined for FIDs that do not exist, for DFs, for C7 n
 * and for internal 10xx/11xx FIDs.
 */
export async function findFile(fid: number, objects: ObjectStore, device: DeviceState): Promise<FileEntry | undefined> {
  if (isReservedFid(fid) || isInternalFile(fid)) return undefined;

  if (isKeyFid(fid)) {
    const id = lowByte(fid);
    if (id === 0) return (await objects.hasDeviceKey()) ? { kind: "key", fid } : undefined;
    const key = await objects.getKey(id);
    return key && { kind: "key", fid, key };
  }

  const stored = await objects.readFile(fid);
  if (stored) {
    const fdb = isDeviceIdentityFile(fid) ? FDB.INTERNAL_EF : FDB.WORKING_EF;
    return { kind: "ef", fid, content: stored, fdb };
  }
  if (isGeneratedFile(fid)) return { kind: "ef", fid, content: generatedContent(fid, device), fdb: FDB.WORKING_EF };
  if (isStaticEmptyFile(fid)) return { kind: "ef", fid, content: new Uint8Array(0), fdb: FDB.WORKING_EF };
  return undefined;
}

/** Builds the FCP: 62 { 81 size, 82 FDB, 83 FID, 8A 05 [, A5 81 LL key metadata] }. */
export function encodeFcp(entry: FileEntry): Uint8Array {
  const size = entry.kind === "ef" ? Math.min(entry.content.length, 0xffff) : 0;
  const fdb = entry.kind === "ef" ? entry.fdb : entry.kind === "df" ? FDB.DF : lowByte(entry.fid) === 0 ? FDB.INTERNAL_EF : FDB.WORKING_EF;

  const parts = [
    encodeTlv(0x81, new Uint8Array([size >> 8, size & 0xff])),
    encodeTlv(0x82, new Uint8Array([fdb])),
    encodeTlv(0x83, new Uint8Array([entry.fid >> 8, entry.fid & 0xff])),
    encodeTlv(0x8a, new Uint8Array([0x05])),
  ];

  if (entry.kind === "key" && entry.key) {
    const meta = encodeKeyMetadata(entry.key.meta);
    // The firmware always writes this length in the 81 form.
    if (meta.length > 0 && meta.length < 256) parts.push(concatBytes(new Uint8Array([0xa5, 0x81, meta.length]), meta));
  }

  return encodeTlv(0x62, concatBytes(...parts));
}
