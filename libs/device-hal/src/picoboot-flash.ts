/**
 * Writes a UF2 image through PICOBOOT the way picotool `load -v -x` does:
 * exclusive access, then per batch of 4 KiB sectors exit XIP (RP2040), erase
 * and write, then read everything back, then reboot into the new image.
 */
import { CHIPS, type ChipFacts } from "./boards.ts";
import { DeviceHalError, hex } from "./errors.ts";
import { EXCLUSIVE, REBOOT2_FLASH_UPDATE, RP2040_REBOOT_SP, type PicobootConnection } from "./picoboot.ts";
import { checkImageForChip, type Uf2Image } from "./uf2.ts";

export const FLASH_SECTOR_SIZE = 4096;

/** One erase-and-write unit: a run of whole sectors with the image bytes, holes filled with 0x00. */
export interface FlashBatch {
  address: number;
  data: Uint8Array;
}

export interface FlashProgress {
  step: "write" | "verify";
  /** Bytes finished in this step. */
  done: number;
  total: number;
}

export interface FlashOptions {
  onProgress?: (progress: FlashProgress) => void;
  /** Retries of a batch whose erase or write failed; default 2. */
  retries?: number;
  /** Called before a retry, with the error of the failed attempt. */
  onRetry?: (batch: FlashBatch, attempt: number, error: DeviceHalError) => void;
  /** Bytes per batch, a multiple of 4096; default 64 KiB. */
  batchSize?: number;
  /** Reboot into the new image after verifying; default true. */
  reboot?: boolean;
}

/**
 * Splits the image into runs of whole 4 KiB sectors, at most `batchSize` bytes
 * each. Only sectors that hold image pages are included, so nothing outside
 * the image (the key storage above all) is erased.
 */
export function planFlashBatches(image: Uf2Image, batchSize = 64 * 1024): FlashBatch[] {
  if (batchSize % FLASH_SECTOR_SIZE !== 0 || batchSize <= 0) throw new DeviceHalError("INVALID_ARGUMENT", `batch size ${batchSize} must be a positive multiple of 4096`);

  const sectors = [...new Set([...image.pages.keys()].map((address) => address - (address % FLASH_SECTOR_SIZE)))].sort((a, b) => a - b);
  const batches: FlashBatch[] = [];
  let runStart = sectors[0];
  let runEnd = runStart + FLASH_SECTOR_SIZE;

  const flush = () => {
    const data = new Uint8Array(runEnd - runStart);
    for (const [address, page] of image.pages) if (address >= runStart && address < runEnd) data.set(page, address - runStart);
    batches.push({ address: runStart, data });
  };

  for (const sector of sectors.slice(1)) {
    if (sector === runEnd && runEnd - runStart < batchSize) {
      runEnd += FLASH_SECTOR_SIZE;
      continue;
    }
    flush();
    runStart = sector;
    runEnd = sector + FLASH_SECTOR_SIZE;
  }
  flush();
  return batches;
}

/**
 * Flashes `image` to the board behind `connection`. A failed batch is retried
 * (`retries`, default 2); when retries run out the board is released without a
 * reboot and DeviceHalError names the address, so it stays in BOOTSEL and the
 * user can flash again. A read-back mismatch throws "VERIFY_FAILED".
 */
export async function flashImage(connection: PicobootConnection, image: Uf2Image, chip: ChipFacts, options: FlashOptions = {}): Promise<void> {
  checkImageForChip(image, chip);
  const batches = planFlashBatches(image, options.batchSize);
  const total = batches.reduce((sum, batch) => sum + batch.data.length, 0);

  try {
    await connection.exclusiveAccess(EXCLUSIVE.EXCLUSIVE);

    let done = 0;
    for (const batch of batches) {
      await writeBatchWithRetries(connection, batch, chip, options);
      done += batch.data.length;
      options.onProgress?.({ step: "write", done, total });
    }

    done = 0;
    for (const batch of batches) {
      await verifyBatch(connection, batch, chip);
      done += batch.data.length;
      options.onProgress?.({ step: "verify", done, total });
    }
  } catch (error) {
    await connection.exclusiveAccess(EXCLUSIVE.NOT_EXCLUSIVE).catch(() => connection.reset().catch(() => {}));
    throw error;
  }

  if (options.reboot === false) {
    await connection.exclusiveAccess(EXCLUSIVE.NOT_EXCLUSIVE);
    return;
  }
  await rebootIntoImage(connection, chip);
}

async function writeBatchWithRetries(connection: PicobootConnection, batch: FlashBatch, chip: ChipFacts, options: FlashOptions): Promise<void> {
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0) await connection.exclusiveAccess(EXCLUSIVE.EXCLUSIVE);
      if (chip.id === "rp2040") await connection.exitXip();
      await connection.flashErase(batch.address, batch.data.length);
      await connection.write(batch.address, batch.data);
      return;
    } catch (error) {
      if (!(error instanceof DeviceHalError) || error.code === "INVALID_ARGUMENT") throw error;
      if (attempt >= retries) {
        throw new DeviceHalError(
          error.code,
          `writing ${batch.data.length} bytes at ${hex(batch.address)} failed after ${attempt + 1} attempts (${error.message}); ` +
            "the board stays in BOOTSEL: unplug it, plug it in with BOOTSEL held and flash again",
          { ...error.details, address: batch.address },
        );
      }
      options.onRetry?.(batch, attempt + 1, error);
    }
  }
}

async function verifyBatch(connection: PicobootConnection, batch: FlashBatch, chip: ChipFacts): Promise<void> {
  if (chip.id === "rp2040") await connection.exitXip();
  const readBack = await connection.read(batch.address, batch.data.length);
  const mismatch = readBack.findIndex((byte, i) => byte !== batch.data[i]);
  if (mismatch >= 0) {
    throw new DeviceHalError("VERIFY_FAILED", `flash at ${hex(batch.address + mismatch)} reads back differently from the image; flash again, and if it repeats the flash chip may be worn`, {
      address: batch.address + mismatch,
    });
  }
}

/** Reboots into the flashed image: REBOOT on RP2040, REBOOT2 "flash update" on RP2350, both after 500 ms. */
async function rebootIntoImage(connection: PicobootConnection, chip: ChipFacts): Promise<void> {
  if (chip.id === CHIPS.rp2040.id) await connection.reboot(0, RP2040_REBOOT_SP, 500);
  else await connection.reboot2(REBOOT2_FLASH_UPDATE, 500, chip.firmwareBase, 0);
}
