/**
 * Route A of RP flashing: a BOOTSEL board also appears as a FAT drive
 * ("RPI-RP2" on RP2040, "RP2350" on RP2350) with an INFO_UF2.TXT file. The
 * bootrom programs any UF2 blocks copied onto it and reboots once all have
 * arrived. The copy cannot be verified, because a rejected file fails silently.
 */
import { readdir, readFile, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import { CHIPS, type ChipFacts } from "@hsmkit/device-hal";

export interface BootselDrive {
  path: string;
  chip: ChipFacts | undefined;
  /** The "Board-ID" line of INFO_UF2.TXT. */
  boardId: string | undefined;
}

/** Finds mounted drives under `roots` (one level and two levels deep) that contain INFO_UF2.TXT. */
export async function findBootselDrives(roots: string[]): Promise<BootselDrive[]> {
  const drives: BootselDrive[] = [];
  for (const root of roots) {
    for (const candidate of await subdirectories(root)) {
      const drive = await readDrive(candidate);
      if (drive) drives.push(drive);
      else for (const nested of await subdirectories(candidate)) {
        const inner = await readDrive(nested);
        if (inner) drives.push(inner);
      }
    }
  }
  return drives;
}

/** Reads `path` as a BOOTSEL drive, or returns undefined when it has no INFO_UF2.TXT. */
export async function readDrive(path: string): Promise<BootselDrive | undefined> {
  let info: string;
  try {
    info = await readFile(join(path, "INFO_UF2.TXT"), "utf8");
  } catch {
    return undefined;
  }
  const boardId = /^Board-ID:\s*(.+)$/m.exec(info)?.[1].trim();
  const chip = boardId?.startsWith("RPI-RP2") ? CHIPS.rp2040 : boardId?.startsWith("RP2350") ? CHIPS.rp2350 : undefined;
  return { path, chip, boardId };
}

/** Copies `file` onto the drive in 64 KiB chunks, reporting bytes written. */
export async function copyToDrive(drive: BootselDrive, name: string, file: Uint8Array, onProgress: (done: number) => void): Promise<string> {
  const target = join(drive.path, name);
  await writeFile(target, new Uint8Array());
  const handle = await open(target, "w");
  try {
    for (let offset = 0; offset < file.length; offset += 65536) {
      const chunk = file.subarray(offset, Math.min(file.length, offset + 65536));
      await handle.write(chunk, 0, chunk.length, offset);
      onProgress(offset + chunk.length);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return target;
}

async function subdirectories(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => join(path, entry.name));
  } catch {
    return [];
  }
}
