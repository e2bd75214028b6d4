import { describe, expect, test } from "vitest";

import { generateApdus, parseScriptorResponses, toHex, toScriptorScript } from "../src/fuzz.ts";

describe("generateApdus", () => {
  test("same seed gives same APDUs", () => {
    const first = generateApdus(7, 200).map(toHex);
    const second = generateApdus(7, 200).map(toHex);
    expect(second).toEqual(first);
  });

  test("other seed gives other APDUs", () => {
    expect(generateApdus(8, 50).map(toHex)).not.toEqual(generateApdus(7, 50).map(toHex));
  });

  test("every APDU fits a vpcd command frame", () => {
    const apdus = generateApdus(1, 2000);
    expect(apdus).toHaveLength(2000);

    for (const apdu of apdus) {
      expect(apdu.length).toBeGreaterThanOrEqual(2);
      expect(apdu.length).toBeLessThan(1000);
    }
  });

  test("covers short, extended and malformed shapes", () => {
    const apdus = generateApdus(1, 2000);
    const lengths = new Set(apdus.map((apdu) => apdu.length));

    expect(apdus.some((apdu) => apdu.length < 4)).toBe(true);
    expect(apdus.some((apdu) => apdu.length > 261 && apdu[4] === 0)).toBe(true);
    expect(apdus.some((apdu) => apdu[1] === 0xa4)).toBe(true);
    expect(lengths.size).toBeGreaterThan(50);
  });
});

describe("scriptor script and output", () => {
  test("one APDU per line", () => {
    expect(toScriptorScript([Uint8Array.of(0x00, 0xa4, 0x04, 0x00), Uint8Array.of(0x80, 0x58)])).toBe(
      "00 A4 04 00\n80 58\n",
    );
  });

  test("parses responses in order", () => {
    const output = [
      "Using given card reader: Virtual PCD 00 01",
      "Using T=1 protocol",
      "00 A4 04 00 02 3F 00",
      "> 00 A4 04 00 02 3F 00",
      "< 6A 82 : Wrong parameter(s) P1-P2. File not found.",
      "80 58 00 00 00 00 00",
      "> 80 58 00 00 00 00 00",
      "< CC 01 C4 01 90 00 : Normal processing.",
      "00 84 00 00 12",
      "> 00 84 00 00 12",
      "< 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F ",
      "10 11 90 00 : Normal processing.",
    ].join("\n");

    expect(parseScriptorResponses(output).map(toHex)).toEqual([
      "6A 82",
      "CC 01 C4 01 90 00",
      "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 90 00",
    ]);
  });
});
