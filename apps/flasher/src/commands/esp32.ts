/**
 * `flasher flash --esp32s3 FILE.bin --port DEVICE`: writes a merged ESP32-S3
 * image at flash offset 0x0 through esptool-js, keeping the key store
 * "part0" at 0x200000 intact. The board must be in download mode: hold BOOT
 * while plugging it in, because the firmware's own USB stack disables the
 * automatic reset into the bootloader.
 */
import { readFile } from "node:fs/promises";
import { CHIPS, hex } from "@hsmkit/device-hal";
import { UsageError, type FlasherEnvironment } from "../environment.ts";
import { Esp32FlashError, flashEsp32s3 } from "../esp32/esp32s3-flash.ts";
import { formatBytes, ProgressBar } from "../progress.ts";

/** First byte of every ESP image header (esptool "ESP_IMAGE_MAGIC"). */
const ESP_IMAGE_MAGIC = 0xe9;

export interface Esp32Options {
  file: string;
  /** Serial device of the board in download mode, e.g. /dev/ttyACM0. */
  port?: string;
  dryRun: boolean;
  /** The user states the image is the vendor-signed release, for a chip with secure boot on. */
  vendorSigned: boolean;
}

export async function flashEsp32s3Command(env: FlasherEnvironment, options: Esp32Options): Promise<number> {
  let image: Uint8Array;
  try {
    image = new Uint8Array(await readFile(options.file));
  } catch (error) {
    throw new UsageError(`cannot read ${options.file}: ${(error as Error).message}`);
  }

  if (image.length === 0 || image[0] !== ESP_IMAGE_MAGIC) {
    throw new UsageError(`${options.file} does not start with the ESP image magic 0xE9; use the merged release image pico_hsm_esp32-s3.bin`);
  }
  const limit = CHIPS.esp32s3.firmwareMaxSize;
  if (image.length > limit) {
    throw new UsageError(`${options.file} is ${formatBytes(image.length)} and would overwrite the key store at ${hex(limit)}; use the Pico HSM release image`);
  }

  env.stdout(`ESP32-S3 image: ${formatBytes(image.length)} at 0x0, flash mode/frequency/size kept, no full-chip erase (keys at ${hex(limit)} stay)\n`);
  if (options.dryRun) {
    env.stdout("dry run, nothing written\n");
    return 0;
  }
  if (options.port === undefined) {
    throw new UsageError("flashing an ESP32-S3 needs --port: hold BOOT while plugging the board in, then pass its serial device (e.g. /dev/ttyACM0)");
  }

  const bar = new ProgressBar(env.stderr, "write ", image.length);
  try {
    const { chip } = await flashEsp32s3(await env.serialPort(options.port), image, {
      allowSecureBoot: options.vendorSigned,
      onProgress: (written, total) => bar.update(Math.round((written / total) * image.length)),
    });
    bar.finish();
    env.stdout(`flashed ${chip} and verified the MD5; unplug and replug the board to start the firmware\n`);
    return 0;
  } catch (error) {
    bar.finish();
    if (error instanceof Esp32FlashError) throw new UsageError(`refusing to flash: ${error.message}${/secure boot/.test(error.message) ? " and pass --vendor-signed" : ""}`);
    throw new UsageError(`ESP32-S3 flashing failed: ${(error as Error).message}. Check that the board is in download mode (hold BOOT while plugging in)`, 1);
  }
}

