/**
 * A serial device file (`/dev/ttyACM0` on Linux, `/dev/cu.usbmodem*` on macOS)
 * as a Web-Serial-shaped port for esptool-js. `stty` puts the line in raw mode
 * so the terminal driver passes SLIP bytes unchanged. The ESP32-S3's
 * USB-Serial/JTAG port ignores the baud rate.
 *
 * NOTE: DTR/RTS cannot be set through a file, so `setSignals` does nothing. The
 * user enters download mode by holding BOOT while plugging in, and replugs the
 * board after flashing to start the firmware.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import process from "node:process";
import { promisify } from "node:util";
import type { SerialPortLike } from "./serial-port.ts";

const run = promisify(execFile);
const READ_CHUNK = 4096;
/** Wait between reads of an idle line, ms. Reads use a non-blocking descriptor, so `close` never waits on a pending read. */
const IDLE_POLL_MS = 2;

export class TtyPort implements SerialPortLike {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  readonly #path: string;
  #handle: FileHandle | undefined;
  /** A second, blocking descriptor for writes: a non-blocking write can fail part-way without saying how much it wrote (Deno 2). */
  #writeHandle: FileHandle | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return {};
  }

  /** Sets raw mode with `stty` and opens the device for reading and writing. */
  async open(options: { baudRate: number }): Promise<void> {
    const device = process.platform === "darwin" ? "-f" : "-F";
    try {
      await run("stty", [device, this.#path, "raw", "-echo", String(options.baudRate)]);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(`cannot set up serial device ${this.#path}: ${stderr || (error as Error).message}`);
    }

    const handle = await open(this.#path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    this.#handle = handle;
    const writeHandle = await open(this.#path, constants.O_WRONLY | constants.O_NOCTTY);
    this.#writeHandle = writeHandle;
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.#read(handle);
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
    });
    this.writable = new WritableStream<Uint8Array>({ write: (chunk) => this.#write(writeHandle, chunk) });
  }

  /** Returns the next bytes, polling while the line is idle; undefined once the port is closed. */
  async #read(handle: FileHandle): Promise<Uint8Array | undefined> {
    const buffer = new Uint8Array(READ_CHUNK);
    while (this.#handle === handle) {
      try {
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
        if (bytesRead > 0) return buffer.slice(0, bytesRead);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
    return undefined;
  }

  /** Writes all of `chunk`, continuing after short writes. */
  async #write(handle: FileHandle, chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset, null);
      offset += bytesWritten;
    }
  }

  async close(): Promise<void> {
    const handles = [this.#handle, this.#writeHandle];
    this.#handle = undefined;
    this.#writeHandle = undefined;
    this.readable = null;
    this.writable = null;
    for (const handle of handles) await handle?.close();
  }

  async setSignals(): Promise<void> {}
}
