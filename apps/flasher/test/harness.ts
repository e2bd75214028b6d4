/** Runs the flasher in-process against simulated USB devices and temporary directories, capturing its output. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedUsb } from "@hsmkit/device-hal/simulators";
import { runFlasher } from "../src/cli.ts";
import { UsageError } from "../src/environment.ts";
import type { SerialPortLike } from "../src/esp32/serial-port.ts";

export interface FlasherRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class FlasherHarness {
  readonly usb = new SimulatedUsb();
  driveRoots: string[] = [];
  /** Serial devices by path, for `flash --esp32s3 --port`. */
  readonly serialPorts = new Map<string, SerialPortLike>();
  /** Number of times a command requested the USB device list. */
  usbRequests = 0;

  async run(...argv: string[]): Promise<FlasherRun> {
    let stdout = "";
    let stderr = "";
    const exitCode = await runFlasher(argv, {
      usb: async () => {
        this.usbRequests++;
        return this.usb;
      },
      serialPort: async (path) => {
        const port = this.serialPorts.get(path);
        if (port === undefined) throw new UsageError(`cannot open ${path}: no such serial device`);
        return port;
      },
      driveRoots: this.driveRoots,
      stdout: (text) => (stdout += text),
      stderr: { write: (text) => void (stderr += text), isTerminal: false },
    });
    return { exitCode, stdout, stderr };
  }
}

/** Creates a temporary directory, passes it to `body`, and removes it afterwards. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "flasher-test-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Random bytes of any length (getRandomValues fills at most 65536 per call). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  return out;
}
