/**
 * `flasher flash FILE.uf2`: writes a Pico HSM release to an RP2040 or RP2350
 * in BOOTSEL mode through PICOBOOT (erase, write, read back, reboot). When no
 * PICOBOOT interface is reachable but a BOOTSEL drive is mounted, it copies
 * the file onto the drive instead.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import {
  checkImageForChip,
  DeviceHalError,
  familyName,
  flashImage,
  hex,
  parseUf2,
  PicobootConnection,
  planFlashBatches,
  readRp2350SecureBoot,
  uf2ToImage,
  type ChipFacts,
  type Uf2Image,
} from "@hsmkit/device-hal";
import { selectBoard } from "../boards.ts";
import { copyToDrive, findBootselDrives, readDrive, type BootselDrive } from "../bootsel-drive.ts";
import { UsageError, type FlasherEnvironment } from "../environment.ts";
import { formatBytes, ProgressBar } from "../progress.ts";

export interface FlashOptions {
  file: string;
  serial?: string;
  /** Copy to this mounted BOOTSEL drive instead of using PICOBOOT. */
  drive?: string;
  dryRun: boolean;
  reboot: boolean;
}

export async function flashCommand(env: FlasherEnvironment, options: FlashOptions): Promise<number> {
  const file = await readInput(options.file);
  const image = readUf2(file, options.file);

  if (options.drive !== undefined) {
    const drive = await readDrive(options.drive);
    if (drive === undefined) throw new UsageError(`${options.drive} has no INFO_UF2.TXT, so it is not a BOOTSEL drive; pass the mount point of the RPI-RP2 or RP2350 drive`);
    return flashToDrive(env, drive, options, file, image);
  }

  let board;
  try {
    board = await selectBoard(await env.usb(), "bootsel", options.serial);
  } catch (error) {
    // Without a reachable PICOBOOT interface (none found, or no USB access at all), one mounted drive will do.
    const unreachable = error instanceof UsageError && (error.exitCode === 3 || /no board in BOOTSEL/.test(error.message));
    const drives = unreachable ? await findBootselDrives(env.driveRoots) : [];
    if (drives.length !== 1) throw error;
    env.stdout(`no PICOBOOT interface reachable; using the mounted BOOTSEL drive ${drives[0].path}\n`);
    return flashToDrive(env, drives[0], options, file, image);
  }

  const chip = board.chip!;
  checkForChip(image, chip);
  const batches = planFlashBatches(image);
  const total = batches.reduce((sum, batch) => sum + batch.data.length, 0);

  env.stdout(`${chip.name} in BOOTSEL (serial ${board.serial ?? "-"}): ${image.pages.size} pages of ${familyName(image.familyId)}, ${hex(image.start)}–${hex(image.end)}\n`);
  if (image.droppedE10Block) env.stdout("skipping the RP2350-E10 workaround block, which is not part of the image\n");

  const connection = chip.id === "rp2350" || !options.dryRun ? await PicobootConnection.open(board.device) : undefined;
  if (connection !== undefined && chip.id === "rp2350") {
    try {
      await checkSecureBoot(env, connection);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  if (options.dryRun) {
    await connection?.close();
    for (const batch of batches) env.stdout(`would erase and write ${formatBytes(batch.data.length)} at ${hex(batch.address)}\n`);
    env.stdout(`would verify ${formatBytes(total)} and ${options.reboot ? "reboot into the new firmware" : "leave the board in BOOTSEL"}; dry run, nothing written\n`);
    return 0;
  }

  const bars = { write: new ProgressBar(env.stderr, "write ", total), verify: new ProgressBar(env.stderr, "verify", total) };
  try {
    await flashImage(connection!, image, chip, {
      reboot: options.reboot,
      onProgress: (progress) => bars[progress.step].update(progress.done),
      onRetry: (batch, attempt, error) => env.stderr.write(`\nretry ${attempt} of the ${formatBytes(batch.data.length)} at ${hex(batch.address)}: ${error.message}\n`),
    });
  } finally {
    bars.write.finish();
    bars.verify.finish();
    await connection!.close();
  }

  env.stdout(options.reboot ? "flashed and verified; the board reboots into the new firmware\n" : "flashed and verified; the board stays in BOOTSEL\n");
  return 0;
}

/**
 * Reads the RP2350's secure-boot rows. Rejects a chip that trusts only other
 * keys, where no Pico HSM release can boot, and warns on a chip locked to the
 * Pico Keys key, where only vendor-signed releases boot.
 */
async function checkSecureBoot(env: FlasherEnvironment, connection: PicobootConnection): Promise<void> {
  const state = await readRp2350SecureBoot(connection);
  if (!state.enabled) return;

  if (!state.trustsPicoKeys) {
    const hashes = [...state.keyHashes].map(([slot, hash]) => `slot ${slot}: ${hash}`).join(", ") || "none valid";
    throw new UsageError(
      `refusing to flash: this RP2350 has secure boot on and trusts only other keys (${hashes}), so no Pico HSM release can boot on it; ` +
        "flash firmware signed by the key's owner instead",
    );
  }
  env.stdout("secure boot is on with the Pico Keys key: only vendor-signed releases boot, a self-built image leaves the board in BOOTSEL\n");
}

async function flashToDrive(env: FlasherEnvironment, drive: BootselDrive, options: FlashOptions, file: Uint8Array, image: Uf2Image): Promise<number> {
  if (drive.chip === undefined) {
    throw new UsageError(`${drive.path} is a UF2 drive of board ${drive.boardId ?? "(unknown)"}, not an RP2040 or RP2350 BOOTSEL drive`);
  }
  checkForChip(image, drive.chip);

  if (options.dryRun) {
    env.stdout(`would copy ${formatBytes(file.length)} to ${drive.path} (${drive.chip.name}); dry run, nothing written\n`);
    return 0;
  }

  const bar = new ProgressBar(env.stderr, "copy  ", file.length);
  const target = await copyToDrive(drive, basename(options.file), file, (done) => bar.update(done));
  bar.finish();
  env.stdout(`copied to ${target}; the board reboots once it has all blocks. A drive copy cannot be verified: if the board does not reboot, flash over USB instead\n`);
  return 0;
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function readUf2(file: Uint8Array, path: string): Uf2Image {
  try {
    return uf2ToImage(parseUf2(file));
  } catch (error) {
    if (error instanceof DeviceHalError) {
      throw new UsageError(`${path} is not a usable UF2 file: ${error.message}. Use a release .uf2, or build one with \`flasher uf2 convert\``);
    }
    throw error;
  }
}

function checkForChip(image: Uf2Image, chip: ChipFacts): void {
  try {
    checkImageForChip(image, chip);
  } catch (error) {
    if (error instanceof DeviceHalError) throw new UsageError(`refusing to flash: ${error.message}`);
    throw error;
  }
}
