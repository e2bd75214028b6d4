/**
 * Inputs the flasher takes from its surroundings: the USB device list, the
 * directories where drives are mounted, and its output streams. `main.ts` builds the real
 * one; tests pass simulated USB devices and temporary directories.
 */
import type { UsbBackend } from "@hsmkit/device-hal";
import type { SerialPortLike } from "./esp32/serial-port.ts";
import type { ProgressOutput } from "./progress.ts";

export interface FlasherEnvironment {
  /** Returns the USB device list; called only by commands that need USB. */
  usb(): Promise<UsbBackend>;
  /** Opens a serial device (ESP32-S3 download mode) by path. */
  serialPort(path: string): Promise<SerialPortLike>;
  /** Directories whose subdirectories may be mounted BOOTSEL drives. */
  driveRoots: string[];
  stdout(text: string): void;
  stderr: ProgressOutput;
}

/** An error the command line reports as one message, with the exit status to use. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
