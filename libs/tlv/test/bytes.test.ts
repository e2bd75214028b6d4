import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex } from "../src/index.ts";

describe("hex", () => {
  it("toHex is upper case", () => {
    expect(toHex(Uint8Array.of(0x00, 0x6a, 0x82, 0xff))).toBe("006A82FF");
    expect(toHex(new Uint8Array())).toBe("");
  });

  it("fromHex ignores whitespace and case", () => {
    expect(fromHex(" 00 a4\n04 0C\t")).toEqual(Uint8Array.of(0x00, 0xa4, 0x04, 0x0c));
  });

  it("fromHex rejects bad digits", () => {
    expect(() => fromHex("0g")).toThrow(/character "g" at index 1/);
    expect(() => fromHex("0x12")).toThrow(SyntaxError);
    expect(() => fromHex("00 1z")).toThrow(/at index 4/);
  });

  it("fromHex rejects an odd digit count", () => {
    expect(() => fromHex("123")).toThrow(/odd/);
  });

  it("concatBytes joins parts", () => {
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(), Uint8Array.of(2, 3))).toEqual(Uint8Array.of(1, 2, 3));
    expect(concatBytes()).toEqual(new Uint8Array());
  });
});
