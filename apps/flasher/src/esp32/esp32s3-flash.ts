/**
 * Writes a Pico HSM ESP32-S3 merged image at flash offset 0x0 with
 * esptool-js. It connects without reset, because the firmware's own USB stack
 * disables the automatic reset and the user enters download mode with the
 * BOOT button. It checks that the chip is an ESP32-S3, uploads the stub,
 * writes with compression, compares the flash MD5, and resets.
 *
 * Flash mode, frequency and size stay "keep": any other value makes esptool-js
 * rewrite bytes 2–3 of the bootloader header and its SHA-256, which breaks a
 * signed bootloader. Nothing is erased beyond the image, so the key store at
 * 0x200000 survives.
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { md5 } from "@noble/hashes/legacy.js";
import { ESPLoader, Transport, type IEspLoaderTerminal } from "esptool-js";
import type { SerialPortLike } from "./serial-port.ts";

/** GET_SECURITY_INFO flag: secure boot is enabled in eFuse. */
const SECURE_BOOT_EN = 1 << 0;
const ESP32_S3_CHIP_ID = 9;

export interface Esp32s3FlashOptions {
  onProgress?: (written: number, total: number) => void;
  /** Lines esptool-js logs; default: dropped. */
  log?: (line: string) => void;
  /** Accept a chip with secure boot on (only vendor-signed images boot there); default false. */
  allowSecureBoot?: boolean;
}

export class Esp32FlashError extends Error {
  override readonly name = "Esp32FlashError";
}

/** Flashes `image` at 0x0 and resets the chip. Throws Esp32FlashError on a wrong chip or a secure chip not allowed. */
export async function flashEsp32s3(port: SerialPortLike, image: Uint8Array, options: Esp32s3FlashOptions = {}): Promise<{ chip: string }> {
  const log = options.log ?? (() => {});
  const terminal: IEspLoaderTerminal = { clean: () => {}, writeLine: log, write: log };
  const transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0], false);
  // esptool-js 0.7 logs "Serial port done" and "readLoop exited" with console.log even with tracing off.
  transport.trace = (message: string) => log(message);
  const loader = new ESPLoader({ transport, baudrate: 115200, romBaudrate: 115200, terminal });

  try {
    const chip = await loader.main("no_reset");
    const security = await loader.getSecurityInfo();
    if (security.chipId !== ESP32_S3_CHIP_ID) throw new Esp32FlashError(`the chip is ${chip}, not an ESP32-S3; use the image built for it`);
    if (security.flags & SECURE_BOOT_EN && !options.allowSecureBoot) {
      throw new Esp32FlashError("secure boot is on: this ESP32-S3 boots only images signed for its key. Flash only the vendor-signed release");
    }

    await loader.writeFlash({
      fileArray: [{ data: image, address: 0x0 }],
      flashMode: "keep",
      flashFreq: "keep",
      flashSize: "keep",
      eraseAll: false,
      compress: true,
      reportProgress: (_file: number, written: number, total: number) => options.onProgress?.(written, total),
      calculateMD5Hash: (bytes: Uint8Array) => bytesToHex(md5(bytes)),
    });
    await loader.after("hard_reset");
    return { chip };
  } finally {
    await transport.disconnect().catch(() => {});
  }
}
