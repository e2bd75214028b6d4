import { describe, expect, it } from "vitest";
import { rejectionOf } from "./helpers.ts";
import {
  buildUf2,
  CHIPS,
  DeviceHalError,
  EXCLUSIVE,
  flashImage,
  parseUf2,
  PICOBOOT_COMMAND,
  PicobootConnection,
  PICO_KEYS_BOOT_KEY_HASH,
  planFlashBatches,
  readRp2350SecureBoot,
  UF2_FAMILY,
  uf2ToImage,
  type FlashProgress,
} from "../src/index.ts";
import { fromHex } from "@hsmkit/tlv";
import { PICOBOOT_STATUS, SimulatedPicobootDevice } from "../src/simulators/index.ts";

const BASE = 0x10000000;

function imageOf(binary: Uint8Array, familyId: number, baseAddress = BASE) {
  return uf2ToImage(parseUf2(buildUf2(binary, { familyId, baseAddress })));
}

/** Random bytes; getRandomValues fills at most 65536 bytes per call. */
function randomBinary(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  return out;
}

describe("PicobootConnection", () => {
  it("writes, reads back and erases flash", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350" });
    const connection = await PicobootConnection.open(device);
    const page = randomBinary(256);

    await connection.flashErase(BASE, 4096);
    await connection.write(BASE + 256, page);
    expect(await connection.read(BASE + 256, 256)).toEqual(page);

    await connection.flashErase(BASE, 4096);
    expect(await connection.read(BASE + 256, 256)).toEqual(new Uint8Array(256).fill(0xff));
  });

  it("reports the bootrom status of a rejected command and recovers", async () => {
    const connection = await PicobootConnection.open(new SimulatedPicobootDevice({ chip: "rp2350" }));
    const error = await rejectionOf(connection.flashErase(BASE + 100, 4096));
    expect(error).toBeInstanceOf(DeviceHalError);
    expect(error.message).toBe("PICOBOOT FLASH_ERASE at 0x10000064 failed: BAD_ALIGNMENT");
    expect(error.details.status).toBe(PICOBOOT_STATUS.BAD_ALIGNMENT);

    await connection.flashErase(BASE, 4096);
  });

  it("refuses RP2350 writes into the data partition", async () => {
    const connection = await PicobootConnection.open(new SimulatedPicobootDevice({ chip: "rp2350" }));
    await expect(connection.flashErase(BASE + 1032 * 1024, 4096)).rejects.toThrow(/NOT_PERMITTED/);
  });

  it("needs EXIT_XIP on RP2040", async () => {
    const connection = await PicobootConnection.open(new SimulatedPicobootDevice({ chip: "rp2040" }));
    await expect(connection.flashErase(BASE, 4096)).rejects.toThrow(/INVALID_STATE/);
    await connection.exitXip();
    await connection.flashErase(BASE, 4096);
  });

  it("refuses an OTP write without confirmation", async () => {
    const connection = await PicobootConnection.open(new SimulatedPicobootDevice({ chip: "rp2350" }));
    await expect(connection.otpWrite(0x40, new Uint8Array(4), false, { confirmIrreversible: false })).rejects.toThrow(/permanent and was not confirmed/);
  });
});

describe("planFlashBatches", () => {
  it("covers only sectors that hold pages, filling holes with 0x00", () => {
    const image = imageOf(randomBinary(256), UF2_FAMILY.RP2040);
    image.pages.set(BASE + 0x3000, new Uint8Array(256).fill(7));
    const batches = planFlashBatches(image);
    expect(batches.map((batch) => [batch.address, batch.data.length])).toEqual([
      [BASE, 4096],
      [BASE + 0x3000, 4096],
    ]);
    expect(batches[0].data[300]).toBe(0);
  });

  it("splits long runs at the batch size", () => {
    const batches = planFlashBatches(imageOf(randomBinary(40000), UF2_FAMILY.RP2040), 16384);
    expect(batches.map((batch) => batch.data.length)).toEqual([16384, 16384, 8192]);
  });
});

describe("flashImage", () => {
  for (const [chip, family] of [
    ["rp2040", UF2_FAMILY.RP2040],
    ["rp2350", UF2_FAMILY.RP2350_ARM_S],
  ] as const) {
    it(`leaves exactly the UF2 bytes in ${chip} flash and reboots`, async () => {
      const device = new SimulatedPicobootDevice({ chip });
      const keys = randomBinary(4096);
      device.flash.set(keys, 0x100000 + 0x8000);
      const binary = randomBinary(70000);
      const progress: FlashProgress[] = [];

      await flashImage(await PicobootConnection.open(device), imageOf(binary, family), CHIPS[chip], { onProgress: (step) => progress.push(step) });

      expect(device.flash.subarray(0, binary.length)).toEqual(binary);
      expect(device.flash.subarray(0x100000 + 0x8000, 0x100000 + 0x9000)).toEqual(keys);
      expect(device.connected).toBe(false);
      const last = device.commands[device.commands.length - 1];
      expect(last.id).toBe(chip === "rp2040" ? PICOBOOT_COMMAND.REBOOT : PICOBOOT_COMMAND.REBOOT2);
      expect(progress.at(-1)).toEqual({ step: "verify", done: 73728, total: 73728 });
    });
  }

  it("retries a batch after a write error", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350", failWrite: { address: BASE + 0x10000, times: 1 } });
    const binary = randomBinary(100000);
    const retries: number[] = [];

    await flashImage(await PicobootConnection.open(device), imageOf(binary, UF2_FAMILY.RP2350_ARM_S), CHIPS.rp2350, { onRetry: (batch) => retries.push(batch.address) });

    expect(retries).toEqual([BASE + 0x10000]);
    expect(device.flash.subarray(0, binary.length)).toEqual(binary);
  });

  it("aborts cleanly when a write keeps failing", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350", failWrite: { address: BASE + 0x10000, times: 99 } });
    const connection = await PicobootConnection.open(device);

    const error = await rejectionOf(flashImage(connection, imageOf(randomBinary(100000), UF2_FAMILY.RP2350_ARM_S), CHIPS.rp2350));
    expect(error).toBeInstanceOf(DeviceHalError);
    expect(error.message).toMatch(/^writing 36864 bytes at 0x10010000 failed after 3 attempts \(PICOBOOT WRITE at 0x10010000 failed: UNKNOWN_ERROR\)/);
    expect(error.details.address).toBe(BASE + 0x10000);
    expect(device.connected).toBe(true);
    expect(device.exclusive).toBe(EXCLUSIVE.NOT_EXCLUSIVE);
    expect(device.commands.some((command) => command.id === PICOBOOT_COMMAND.REBOOT2)).toBe(false);
  });

  it("reports a read-back mismatch", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350" });
    const connection = await PicobootConnection.open(device);
    const original = connection.read.bind(connection);
    connection.read = async (address, size) => {
      const data = await original(address, size);
      data[5] ^= 1;
      return data;
    };
    await expect(flashImage(connection, imageOf(randomBinary(300), UF2_FAMILY.RP2350_ARM_S), CHIPS.rp2350)).rejects.toThrow(/flash at 0x10000005 reads back differently/);
  });
});

describe("readRp2350SecureBoot", () => {
  it("reports secure boot off on a fresh chip", async () => {
    const state = await readRp2350SecureBoot(await PicobootConnection.open(new SimulatedPicobootDevice({ chip: "rp2350" })));
    expect(state.enabled).toBe(false);
    expect(state.validSlots).toEqual([]);
    expect(state.trustsPicoKeys).toBe(false);
  });

  it("finds the Pico Keys key in a valid slot", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350" });
    device.provisionSecureBoot(2, fromHex(PICO_KEYS_BOOT_KEY_HASH));
    const state = await readRp2350SecureBoot(await PicobootConnection.open(device));
    expect(state.enabled).toBe(true);
    expect(state.validSlots).toEqual([2]);
    expect(state.keyHashes.get(2)).toBe(PICO_KEYS_BOOT_KEY_HASH);
    expect(state.trustsPicoKeys).toBe(true);
  });

  it("sees another owner's key", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350" });
    device.provisionSecureBoot(0, new Uint8Array(32).fill(0x5a));
    const state = await readRp2350SecureBoot(await PicobootConnection.open(device));
    expect(state.enabled).toBe(true);
    expect(state.trustsPicoKeys).toBe(false);
  });

  it("writes OTP rows once confirmed", async () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2350" });
    const connection = await PicobootConnection.open(device);
    await connection.otpWrite(0x100, Uint8Array.of(0x34, 0x12), true, { confirmIrreversible: true });
    expect(device.otp[0x100]).toBe(0x1234);
    expect(await connection.otpRead(0x100, 1, true)).toEqual(Uint8Array.of(0x34, 0x12));
  });

  it("is an unknown command on RP2040", async () => {
    const connection = await PicobootConnection.open(new SimulatedPicobootDevice({ chip: "rp2040" }));
    await expect(connection.otpRead(0x40, 1, false)).rejects.toThrow(/PICOBOOT OTP_READ failed: UNKNOWN_CMD/);
  });
});
