import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildUf2,
  CHIPS,
  checkImageForChip,
  DeviceHalError,
  familyByName,
  familyName,
  imageToBinary,
  isE10WorkaroundBlock,
  parseUf2,
  UF2_FAMILY,
  UF2_FLAG,
  UF2_TAG_RP2_IGNORE_BLOCK,
  uf2ToImage,
} from "../src/index.ts";

const BASE = 0x10000000;

function randomBinary(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** Returns the error `action` throws, failing the test when it does not throw. */
function errorOf(action: () => unknown): DeviceHalError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DeviceHalError);
    return error as DeviceHalError;
  }
  throw new Error("expected the call to throw");
}

/** Builds the RP2350-E10 workaround block as picotool writes it. */
function e10Block(): Uint8Array {
  const block = new Uint8Array(512);
  const view = new DataView(block.buffer);
  view.setUint32(0, 0x0a324655, true);
  view.setUint32(4, 0x9e5d5157, true);
  view.setUint32(8, UF2_FLAG.FAMILY_ID_PRESENT | UF2_FLAG.EXTENSION_TAGS_PRESENT, true);
  view.setUint32(12, 0x10ffff00, true);
  view.setUint32(16, 256, true);
  view.setUint32(20, 0, true);
  view.setUint32(24, 2, true);
  view.setUint32(28, UF2_FAMILY.ABSOLUTE, true);
  block.fill(0xef, 32, 288);
  view.setUint32(288, (UF2_TAG_RP2_IGNORE_BLOCK << 8) | 4, true);
  view.setUint32(508, 0x0ab16f30, true);
  return block;
}

describe("UF2 build and parse", () => {
  it("round-trips random binaries of any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), (binary) => {
        const image = uf2ToImage(parseUf2(buildUf2(binary, { familyId: UF2_FAMILY.RP2040 })));
        const padded = new Uint8Array(Math.ceil(binary.length / 256) * 256);
        padded.set(binary);
        expect(imageToBinary(image)).toEqual(padded);
        expect(image.start).toBe(BASE);
      }),
      { numRuns: 50 },
    );
  });

  it("numbers blocks from 0 with a constant numBlocks", () => {
    const blocks = parseUf2(buildUf2(randomBinary(1000), { familyId: UF2_FAMILY.RP2350_ARM_S }));
    expect(blocks).toHaveLength(4);
    expect(blocks.map((block) => block.blockNo)).toEqual([0, 1, 2, 3]);
    expect(blocks.every((block) => block.numBlocks === 4)).toBe(true);
    expect(blocks.map((block) => block.targetAddr)).toEqual([BASE, BASE + 256, BASE + 512, BASE + 768]);
  });

  it("stores the family ID with flag 0x2000", () => {
    const [block] = parseUf2(buildUf2(randomBinary(10), { familyId: UF2_FAMILY.RP2350_RISCV }));
    expect(block.flags & UF2_FLAG.FAMILY_ID_PRESENT).toBe(UF2_FLAG.FAMILY_ID_PRESENT);
    expect(block.familyId).toBe(0xe48bff5a);
    expect(familyName(block.familyId)).toBe("rp2350-riscv");
    expect(familyByName("rp2040")).toBe(0xe48bff56);
    expect(familyName(0x12345678)).toBe("0x12345678");
  });
});

describe("UF2 rejection", () => {
  const good = () => buildUf2(randomBinary(1024), { familyId: UF2_FAMILY.RP2040 });

  it("rejects a file that is not a multiple of 512 bytes", () => {
    expect(errorOf(() => parseUf2(good().subarray(0, 1000))).message).toMatch(/multiple of 512/);
  });

  it("rejects a corrupt block magic", () => {
    const file = good();
    file[512 + 508] ^= 0xff;
    const error = errorOf(() => parseUf2(file));
    expect(error.code).toBe("INVALID_IMAGE");
    expect(error.message).toMatch(/block 1 has a wrong magic/);
  });

  it("rejects a file that is not UF2", () => {
    expect(errorOf(() => parseUf2(new TextEncoder().encode("x".repeat(512)))).message).toMatch(/not UF2/);
  });

  it("rejects a missing block", () => {
    const file = good();
    const truncated = file.subarray(0, 3 * 512);
    expect(errorOf(() => uf2ToImage(parseUf2(truncated))).message).toMatch(/3 of 4 blocks; blockNo 3 is missing/);
  });

  it("rejects a duplicate blockNo", () => {
    const file = good();
    new DataView(file.buffer).setUint32(512 + 20, 0, true);
    expect(errorOf(() => uf2ToImage(parseUf2(file))).message).toMatch(/blockNo 0 appears twice/);
  });

  it("rejects blockNo not below numBlocks", () => {
    const file = good();
    new DataView(file.buffer).setUint32(20, 9, true);
    expect(errorOf(() => parseUf2(file)).message).toMatch(/blockNo 9, not below numBlocks 4/);
  });

  it("rejects payloadSize other than 256", () => {
    const file = buildUf2(randomBinary(512), { familyId: UF2_FAMILY.RP2040, payloadSize: 128 });
    expect(errorOf(() => uf2ToImage(parseUf2(file))).message).toMatch(/payloadSize 128/);
  });

  it("rejects mixed families", () => {
    const file = good();
    new DataView(file.buffer).setUint32(512 + 28, UF2_FAMILY.RP2350_ARM_S, true);
    expect(errorOf(() => uf2ToImage(parseUf2(file))).message).toMatch(/mixes families rp2040, rp2350-arm-s/);
  });

  it("rejects an unaligned address", () => {
    const file = good();
    new DataView(file.buffer).setUint32(12, BASE + 4, true);
    expect(errorOf(() => uf2ToImage(parseUf2(file))).message).toMatch(/not 256-byte aligned/);
  });
});

describe("UF2 against a chip", () => {
  it("accepts the matching family inside the firmware region", () => {
    const image = uf2ToImage(parseUf2(buildUf2(randomBinary(4096), { familyId: UF2_FAMILY.RP2350_ARM_S })));
    expect(() => checkImageForChip(image, CHIPS.rp2350)).not.toThrow();
  });

  it("refuses a family the chip does not boot", () => {
    const image = uf2ToImage(parseUf2(buildUf2(randomBinary(256), { familyId: UF2_FAMILY.RP2040 })));
    const error = errorOf(() => checkImageForChip(image, CHIPS.rp2350));
    expect(error.message).toMatch(/family is rp2040 but the attached RP2350 boots rp2350-arm-s or rp2350-riscv/);
    expect(error.message).toMatch(/download the release built for RP2350/);
  });

  it("refuses an image reaching into the key storage", () => {
    const image = uf2ToImage(parseUf2(buildUf2(randomBinary(256), { familyId: UF2_FAMILY.RP2040, baseAddress: 0x10100000 })));
    expect(errorOf(() => checkImageForChip(image, CHIPS.rp2040)).message).toMatch(/outside the RP2040 firmware region/);
  });

  it("drops the RP2350-E10 workaround block", () => {
    const main = buildUf2(randomBinary(512), { familyId: UF2_FAMILY.RP2350_ARM_S });
    const file = new Uint8Array(512 + main.length);
    file.set(e10Block());
    file.set(main, 512);

    const blocks = parseUf2(file);
    expect(isE10WorkaroundBlock(blocks[0])).toBe(true);
    expect(isE10WorkaroundBlock(blocks[1])).toBe(false);

    const image = uf2ToImage(blocks);
    expect(image.droppedE10Block).toBe(true);
    expect(image.familyId).toBe(UF2_FAMILY.RP2350_ARM_S);
    expect([...image.pages.keys()]).toEqual([BASE, BASE + 256]);
  });
});
