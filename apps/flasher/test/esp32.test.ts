import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Esp32FlashError, flashEsp32s3 } from "../src/esp32/esp32s3-flash.ts";
import { TtyPort } from "../src/esp32/tty-port.ts";
import { SimulatedEsp32s3Port } from "./esp32-rom-simulator.ts";
import { randomBytes } from "./harness.ts";

/** Returns a merged image: ESP image magic 0xE9, then random bytes. */
function espImage(length: number): Uint8Array {
  const image = randomBytes(length);
  image[0] = 0xe9;
  return image;
}

describe("flashEsp32s3 through esptool-js", () => {
  it("writes the image at 0x0 and leaves the key store alone", async () => {
    const port = new SimulatedEsp32s3Port();
    const keys = randomBytes(4096);
    port.flash.set(keys, 0x200000);
    const image = espImage(100_000);
    const progress: number[] = [];

    const result = await flashEsp32s3(port, image, { onProgress: (written) => progress.push(written) });

    expect(result.chip).toMatch(/ESP32-S3/);
    expect(port.flash.subarray(0, image.length)).toEqual(image);
    expect(port.flash.subarray(0x200000, 0x201000)).toEqual(keys);
    expect(progress.length).toBeGreaterThan(1);
    expect(port.commands).toContain(0x06);
    expect(port.commands).toContain(0x13);
  }, 20_000);

  it("rejects a chip with secure boot on", async () => {
    const port = new SimulatedEsp32s3Port({ securityFlags: 1 });
    await expect(flashEsp32s3(port, espImage(1000))).rejects.toThrow(Esp32FlashError);
    expect(port.flash.subarray(0, 16).every((byte) => byte === 0xff)).toBe(true);
  }, 20_000);
});

describe("TtyPort", () => {
  it("flashes through a real pseudo-terminal", async () => {
    const relay = spawn("python3", [fileURLToPath(new URL("./pty-relay.py", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      const rom = new SimulatedEsp32s3Port();
      const feed = rom.connectStream((bytes) => relay.stdin.write(bytes));
      const path = await new Promise<string>((resolve) => {
        let header = "";
        const onData = (data: Buffer) => {
          header += data.toString("latin1");
          const newline = header.indexOf("\n");
          if (newline < 0) return;
          relay.stdout.off("data", onData);
          relay.stdout.on("data", (more: Buffer) => feed(new Uint8Array(more)));
          const rest = Buffer.from(header.slice(newline + 1), "latin1");
          if (rest.length > 0) feed(new Uint8Array(rest));
          resolve(header.slice(0, newline));
        };
        relay.stdout.on("data", onData);
      });

      const image = espImage(30_000);
      await flashEsp32s3(new TtyPort(path), image);
      expect(rom.flash.subarray(0, image.length)).toEqual(image);
    } finally {
      relay.kill();
    }
  }, 30_000);
});
