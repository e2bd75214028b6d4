import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlasherHarness, randomBytes, withTempDir } from "./harness.ts";

describe("flasher uf2", () => {
  it("converts bin to UF2 and back", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      const binary = randomBytes(1000);
      await writeFile(join(dir, "fw.bin"), binary);

      const convert = await harness.run("uf2", "convert", join(dir, "fw.bin"), join(dir, "fw.uf2"), "--family", "rp2040");
      expect(convert.exitCode).toBe(0);
      expect(convert.stdout).toMatch(/4 blocks of rp2040 from 0x10000000/);

      const info = await harness.run("uf2", "info", join(dir, "fw.uf2"));
      expect(info.stdout).toMatch(/4 blocks, family rp2040 \(0xE48BFF56\), boots on RP2040\n/);
      expect(info.stdout).toMatch(/0x10000000–0x10000400/);

      expect((await harness.run("uf2", "convert", join(dir, "fw.uf2"), join(dir, "back.bin"))).exitCode).toBe(0);
      const back = new Uint8Array(await readFile(join(dir, "back.bin")));
      expect(back.subarray(0, 1000)).toEqual(binary);
      expect(back.subarray(1000).every((byte) => byte === 0)).toBe(true);
    });
  });

  it("names the corrupt block", async () => {
    await withTempDir(async (dir) => {
      const harness = new FlasherHarness();
      await writeFile(join(dir, "fw.bin"), randomBytes(600));
      await harness.run("uf2", "convert", join(dir, "fw.bin"), join(dir, "fw.uf2"), "--family", "rp2350-arm-s");
      const uf2 = new Uint8Array(await readFile(join(dir, "fw.uf2")));
      uf2[1024 + 2] ^= 0xff;
      await writeFile(join(dir, "fw.uf2"), uf2);

      const info = await harness.run("uf2", "info", join(dir, "fw.uf2"));
      expect(info.exitCode).toBe(2);
      expect(info.stderr).toMatch(/fw.uf2 is not a usable UF2 file: block 2 has a wrong magic number/);
    });
  });

  it("needs a known family to build a UF2", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "fw.bin"), randomBytes(10));
      const harness = new FlasherHarness();
      expect((await harness.run("uf2", "convert", join(dir, "fw.bin"), join(dir, "x.uf2"))).stderr).toMatch(/needs --family/);
      expect((await harness.run("uf2", "convert", join(dir, "fw.bin"), join(dir, "x.uf2"), "--family", "esp9")).stderr).toMatch(/unknown family esp9/);
    });
  });

  it("prints help and rejects unknown options", async () => {
    const harness = new FlasherHarness();
    expect((await harness.run("--help")).stdout).toMatch(/^usage: flasher COMMAND/);
    const bad = await harness.run("flash", "x.uf2", "--force");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--force'; run flasher --help/);
  });
});
