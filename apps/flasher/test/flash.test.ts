import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildUf2, PICO_KEYS_BOOT_KEY_HASH, UF2_FAMILY } from "@hsmkit/device-hal";
import { fromHex } from "@hsmkit/tlv";
import { SimulatedCcidDevice, SimulatedPicobootDevice, SimulatedRescueCard } from "@hsmkit/device-hal/simulators";
import { describe, expect, it } from "vitest";
import { runFlasher } from "../src/cli.ts";
import { UsageError } from "../src/environment.ts";
import { SimulatedEsp32s3Port } from "./esp32-rom-simulator.ts";
import { FlasherHarness, randomBytes, withTempDir } from "./harness.ts";

const FLASH_BASE = 0x10000000;

async function writeUf2(dir: string, binary: Uint8Array, familyId: number, name = "pico_hsm.uf2"): Promise<{ path: string; uf2: Uint8Array }> {
  const uf2 = buildUf2(binary, { familyId });
  const path = join(dir, name);
  await writeFile(path, uf2);
  return { path, uf2 };
}

describe("flasher flash over PICOBOOT", () => {
  it("leaves exactly the UF2 bytes in flash and reboots", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2350" });
      harness.usb.attach(device);
      const binary = randomBytes(150_000);
      const { path } = await writeUf2(dir, binary, UF2_FAMILY.RP2350_ARM_S);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(0);
      expect(device.flash.subarray(0, binary.length)).toEqual(binary);
      expect(device.flash.subarray(151_552).every((byte) => byte === 0xff)).toBe(true);
      expect(device.connected).toBe(false);
      expect(run.stdout).toMatch(/flashed and verified; the board reboots/);
      expect(run.stderr).toMatch(/write  \[#{30}\] 100%/);
      expect(run.stderr).toMatch(/verify \[#{30}\] 100%/);
    });
  });

  it("changes nothing with --dry-run", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2040" });
      harness.usb.attach(device);
      const { path } = await writeUf2(dir, randomBytes(5000), UF2_FAMILY.RP2040);

      const run = await harness.run("flash", path, "--dry-run");

      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/would erase and write 8.0 KiB at 0x10000000/);
      expect(run.stdout).toMatch(/dry run, nothing written/);
      expect(device.commands).toEqual([]);
      expect(device.flash.every((byte) => byte === 0xff)).toBe(true);
    });
  });

  it("retries after a write error and still flashes every byte", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2040", failWrite: { address: FLASH_BASE, times: 2 } });
      harness.usb.attach(device);
      const binary = randomBytes(20_000);
      const { path } = await writeUf2(dir, binary, UF2_FAMILY.RP2040);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(0);
      expect(run.stderr.match(/retry \d of the 20.0 KiB at 0x10000000: PICOBOOT WRITE at 0x10000000 failed: UNKNOWN_ERROR/g)).toHaveLength(2);
      expect(device.flash.subarray(0, binary.length)).toEqual(binary);
    });
  });

  it("aborts cleanly when the write keeps failing", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2040", failWrite: { address: FLASH_BASE, times: 10 } });
      harness.usb.attach(device);
      const { path } = await writeUf2(dir, randomBytes(1000), UF2_FAMILY.RP2040);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/writing 4096 bytes at 0x10000000 failed after 3 attempts/);
      expect(run.stderr).toMatch(/the board stays in BOOTSEL: unplug it, plug it in with BOOTSEL held and flash again/);
      expect(device.connected).toBe(true);
      expect(device.exclusive).toBe(0);
    });
  });

  it("refuses a UF2 of another chip's family", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2040" });
      harness.usb.attach(device);
      const { path } = await writeUf2(dir, randomBytes(1000), UF2_FAMILY.RP2350_ARM_S);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/refusing to flash: the UF2 family is rp2350-arm-s but the attached RP2040 boots rp2040; download the release built for RP2040/);
      expect(device.commands).toEqual([]);
    });
  });

  it("refuses a file that is not UF2 before touching USB", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const path = join(dir, "firmware.elf");
      await writeFile(path, randomBytes(1000));

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/firmware.elf is not a usable UF2 file: file of 1000 bytes is not UF2.*build one with `flasher uf2 convert`/);
      expect(harness.usbRequests).toBe(0);
    });
  });

  it("refuses a board that is not in BOOTSEL mode", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      harness.usb.attach(new SimulatedCcidDevice({ card: new SimulatedRescueCard({ chip: "rp2040" }) }));
      const { path } = await writeUf2(dir, randomBytes(1000), UF2_FAMILY.RP2040);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/running its firmware, not in BOOTSEL mode; run `flasher rescue reboot --bootsel`/);
    });
  });

  it("says what to do when nothing is attached", async () => {
    await withTempDir(async (dir) => {
      const { path } = await writeUf2(dir, randomBytes(1000), UF2_FAMILY.RP2040);
      const run = await new FlasherHarness().run("flash", path);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/no board in BOOTSEL mode found on USB; check the cable/);
    });
  });
});

describe("flasher flash to a BOOTSEL drive", () => {
  async function makeDrive(root: string, boardId: string): Promise<string> {
    const drive = join(root, "RPI-RP2");
    await mkdir(drive, { recursive: true });
    await writeFile(join(drive, "INFO_UF2.TXT"), `UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: ${boardId}\n`);
    return drive;
  }

  it("copies the file when no PICOBOOT interface is reachable", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      harness.driveRoots = [join(dir, "media")];
      const drive = await makeDrive(join(dir, "media"), "RPI-RP2");
      const { path, uf2 } = await writeUf2(dir, randomBytes(3000), UF2_FAMILY.RP2040);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/using the mounted BOOTSEL drive/);
      expect(new Uint8Array(await readFile(join(drive, "pico_hsm.uf2")))).toEqual(uf2);
      expect(run.stderr).toMatch(/copy   \[#{30}\] 100%/);
    });
  });

  it("refuses a family mismatch on the drive too", async () => {
    await withTempDir(async (dir) => {
      const drive = await makeDrive(dir, "RP2350");
      const { path } = await writeUf2(dir, randomBytes(300), UF2_FAMILY.RP2040);

      const run = await new FlasherHarness().run("flash", path, "--drive", drive);

      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/the attached RP2350 boots rp2350-arm-s or rp2350-riscv/);
    });
  });
});

describe("flasher flash --esp32s3", () => {
  it("plans the write with --dry-run", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "pico_hsm_esp32-s3.bin");
      await writeFile(path, Uint8Array.of(0xe9, ...randomBytes(100_000)));
      const run = await new FlasherHarness().run("flash", "--esp32s3", path, "--dry-run");
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/ESP32-S3 image: 97.7 KiB at 0x0, flash mode\/frequency\/size kept, no full-chip erase/);
    });
  });

  it("needs --port to write", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "pico_hsm_esp32-s3.bin");
      await writeFile(path, Uint8Array.of(0xe9, 1, 2, 3));
      const run = await new FlasherHarness().run("flash", "--esp32s3", path);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/needs --port: hold BOOT while plugging the board in/);
    });
  });

  it("writes through the serial port with a progress bar", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const port = new SimulatedEsp32s3Port();
      harness.serialPorts.set("/dev/ttyACM0", port);
      const image = Uint8Array.of(0xe9, ...randomBytes(50_000));
      const path = join(dir, "pico_hsm_esp32-s3.bin");
      await writeFile(path, image);

      const run = await harness.run("flash", "--esp32s3", path, "--port", "/dev/ttyACM0");

      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/flashed ESP32-S3.* and verified the MD5/);
      expect(run.stderr).toMatch(/write  \[#{30}\] 100%/);
      expect(port.flash.subarray(0, image.length)).toEqual(image);
    });
  }, 20_000);

  it("refuses a secure chip without --vendor-signed", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const port = new SimulatedEsp32s3Port({ securityFlags: 1 });
      harness.serialPorts.set("/dev/ttyACM0", port);
      const path = join(dir, "pico_hsm_esp32-s3.bin");
      await writeFile(path, Uint8Array.of(0xe9, ...randomBytes(1000)));

      const run = await harness.run("flash", "--esp32s3", path, "--port", "/dev/ttyACM0");

      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/refusing to flash: secure boot is on.*pass --vendor-signed/);
      expect(port.flash[0]).toBe(0xff);
    });
  }, 20_000);

  it("refuses an image that is not an ESP image", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "x.bin");
      await writeFile(path, Uint8Array.of(0x00, 1, 2, 3));
      const run = await new FlasherHarness().run("flash", "--esp32s3", path, "--dry-run");
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/does not start with the ESP image magic 0xE9/);
    });
  });
});

describe("flasher flash on a secure RP2350", () => {
  it("warns when the chip trusts the Pico Keys key", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2350" });
      device.provisionSecureBoot(0, fromHex(PICO_KEYS_BOOT_KEY_HASH));
      harness.usb.attach(device);
      const binary = randomBytes(4096);
      const { path } = await writeUf2(dir, binary, UF2_FAMILY.RP2350_ARM_S);

      const run = await harness.run("flash", path);

      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/secure boot is on with the Pico Keys key: only vendor-signed releases boot/);
      expect(device.flash.subarray(0, 4096)).toEqual(binary);
    });
  });

  it("refuses a chip that trusts another key", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const device = new SimulatedPicobootDevice({ chip: "rp2350" });
      device.provisionSecureBoot(1, new Uint8Array(32).fill(0xab));
      harness.usb.attach(device);
      const { path } = await writeUf2(dir, randomBytes(4096), UF2_FAMILY.RP2350_ARM_S);

      const run = await harness.run("flash", path, "--dry-run");

      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/secure boot on and trusts only other keys \(slot 1: (AB){32}\)/);
      expect(device.flash.every((byte) => byte === 0xff)).toBe(true);
    });
  });
});

describe("flasher flash without USB access", () => {
  it("falls back to the one mounted drive", async () => {
    await withTempDir(async (dir) => {
      const drive = join(dir, "media", "RP2350");
      await mkdir(drive, { recursive: true });
      await writeFile(join(drive, "INFO_UF2.TXT"), "UF2 Bootloader v1.0\nBoard-ID: RP2350\n");
      const { path, uf2 } = await writeUf2(dir, randomBytes(700), UF2_FAMILY.RP2350_ARM_S);
      const run = await runFlasher(["flash", path], {
        usb: async () => {
          throw new UsageError("listing USB devices failed", 3);
        },
        serialPort: async () => {
          throw new UsageError("no serial devices");
        },
        driveRoots: [join(dir, "media")],
        stdout: () => {},
        stderr: { write: () => {}, isTerminal: false },
      });
      expect(run).toBe(0);
      expect(new Uint8Array(await readFile(join(drive, "pico_hsm.uf2")))).toEqual(uf2);
    });
  });
});
