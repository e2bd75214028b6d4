/**
 * `flasher flash --esp32s3 FILE.bin`: checks a merged ESP32-S3 image and
 * plans its write at flash offset 0x0, keeping the key store "part0" at
 * 0x200000 intact. Writing needs esptool-js over a Web Serial port, which
 * Deno and Node do not provide, so the write step reports that it is not
 * available and names the esptool command that does it.
 */
import { readFile } from "node:fs/promises";
import { CHIPS, hex } from "@hsmkit/device-hal";
import { UsageError, type FlasherEnvironment } from "../environment.ts";
import { formatBytes } from "../progress.ts";

/** First byte of every ESP image header (esptool "ESP_IMAGE_MAGIC"). */
const ESP_IMAGE_MAGIC = 0xe9;

export async function flashEsp32s3Command(env: FlasherEnvironment, options: { file: string; dryRun: boolean }): Promise<number> {
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

  // TODO: drive esptool-js (Transport + ESPLoader.writeFlash with flashMode/flashFreq/flashSize "keep", eraseAll false) once a Web Serial adapter exists here.
  throw new UsageError(
    "ESP32-S3 flashing is not available in this build: esptool-js needs a Web Serial port, which Deno and Node lack. " +
      `Hold BOOT while plugging the board in, then run: esptool.py --chip esp32s3 write_flash --flash_mode keep --flash_freq keep --flash_size keep 0x0 ${options.file}`,
    3,
  );
}
