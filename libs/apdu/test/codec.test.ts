import { fromHex, toHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import {
  CardError,
  describeStatusWord,
  encodeCommandApdu,
  encodeResponseApdu,
  parseCommandApdu,
  parseResponseApdu,
  retriesLeftSw,
  SW,
  type CommandApdu,
} from "../src/index.ts";

function parseHex(hex: string): CommandApdu {
  return parseCommandApdu(fromHex(hex));
}

function wrongLength(hex: string): CardError {
  try {
    parseHex(hex);
  } catch (error) {
    expect(error).toBeInstanceOf(CardError);
    expect((error as CardError).sw).toBe(SW.WRONG_LENGTH);
    return error as CardError;
  }
  throw new Error(`expected ${hex} to be rejected`);
}

describe("parseCommandApdu cases", () => {
  it("case 1 has Ne 256", () => {
    expect(parseHex("00 20 00 81")).toEqual({ cla: 0, ins: 0x20, p1: 0, p2: 0x81, data: new Uint8Array(), ne: 256, extended: false });
  });

  it("case 2 short", () => {
    expect(parseHex("00 84 00 00 08").ne).toBe(8);
    expect(parseHex("00 84 00 00 00").ne).toBe(256);
  });

  it("case 2 extended", () => {
    const enumerate = parseHex("80 58 00 00 00 00 00");
    expect(enumerate.ne).toBe(65536);
    expect(enumerate.extended).toBe(true);
    expect(enumerate.data.length).toBe(0);
    expect(parseHex("00 B0 00 00 00 02 00").ne).toBe(512);
  });

  it("case 3 short", () => {
    const select = parseHex("00 A4 04 00 06 A0 00 00 00 01 01");
    expect(toHex(select.data)).toBe("A00000000101");
    expect(select.ne).toBe(0);
    expect(select.extended).toBe(false);
  });

  it("case 4 short", () => {
    const select = parseHex("00 A4 04 00 0B E8 2B 06 01 04 01 81 C3 1F 02 01 00");
    expect(select.data.length).toBe(11);
    expect(select.ne).toBe(256);
    expect(parseHex("00 A4 00 00 02 C4 02 1B").ne).toBe(0x1b);
  });

  it("case 3 extended", () => {
    const data = "AB".repeat(300);
    const unwrap = parseHex(`80 74 01 93 00 01 2C ${data}`);
    expect(unwrap.data.length).toBe(300);
    expect(unwrap.ne).toBe(0);
    expect(unwrap.extended).toBe(true);
  });

  it("case 4 extended", () => {
    const sign = parseHex("80 68 01 20 00 00 03 01 02 03 02 00");
    expect(toHex(sign.data)).toBe("010203");
    expect(sign.ne).toBe(512);
    expect(parseHex("00 46 02 00 00 00 01 AA 00 00").ne).toBe(65536);
  });

  it("data is a copy", () => {
    const frame = fromHex("00 20 00 81 02 31 32");
    const command = parseCommandApdu(frame);
    frame[5] = 0;
    expect(command.data[0]).toBe(0x31);
  });

  it("accepts firmware quirk shapes", () => {
    const shortEmptyLc = parseHex("00 C0 00 00 00 10");
    expect(shortEmptyLc.data.length).toBe(0);
    expect(shortEmptyLc.ne).toBe(0x10);

    const extendedEmptyLc = parseHex("00 C0 00 00 00 00 00 01 00");
    expect(extendedEmptyLc.data.length).toBe(0);
    expect(extendedEmptyLc.ne).toBe(256);
  });
});

describe("parseCommandApdu malformed", () => {
  it("rejects frames below 4 bytes", () => {
    for (const hex of ["", "00", "00 A4", "00 A4 04"]) {
      expect(wrongLength(hex).message).toContain("shorter than the 4-byte header");
    }
  });

  it("rejects short Lc that does not fit", () => {
    expect(wrongLength("00 A4 04 00 05 01 02").message).toBe(
      "short command APDU with Lc 5 must be 10 or 11 bytes long, but it is 7",
    );
    wrongLength("00 A4 04 00 02 01 02 00 00");
    wrongLength("00 A4 04 00 02 01");
  });

  it("rejects extended Lc that does not fit", () => {
    expect(wrongLength("00 46 00 00 00 00 05 01 02").message).toBe(
      "extended command APDU with Lc 5 must be 12 or 14 bytes long, but it is 9",
    );
    wrongLength("00 46 00 00 00 00 02 01 02 00");
    wrongLength("00 46 00 00 00 00 02 01 02 00 00 00");
    wrongLength("00 46 00 00 00 00 00 01");
    wrongLength("00 46 00 00 00 01 00 " + "00".repeat(255));
  });
});

describe("encodeCommandApdu", () => {
  const cases: Array<[string, Parameters<typeof encodeCommandApdu>[0], { extended?: boolean } | undefined, string]> = [
    ["case 1", { cla: 0, ins: 0x20, p1: 0, p2: 0x81 }, undefined, "00200081"],
    ["case 2 short", { cla: 0, ins: 0x84, p1: 0, p2: 0, ne: 8 }, undefined, "0084000008"],
    ["case 2 short 256", { cla: 0, ins: 0x84, p1: 0, p2: 0, ne: 256 }, undefined, "0084000000"],
    ["case 2 extended", { cla: 0x80, ins: 0x58, p1: 0, p2: 0, ne: 65536 }, undefined, "80580000000000"],
    ["case 2 forced extended", { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 16 }, { extended: true }, "00B00000000010"],
    ["case 3 short", { cla: 0, ins: 0xe4, p1: 2, p2: 0, data: fromHex("CC01") }, undefined, "00E4020002CC01"],
    ["case 4 short", { cla: 0, ins: 0xa4, p1: 0, p2: 0, data: fromHex("2F02"), ne: 256 }, undefined, "00A40000022F0200"],
    ["case 3 extended", { cla: 0x80, ins: 0x74, p1: 1, p2: 0x93, data: fromHex("01") }, { extended: true }, "80740193000001 01".replace(" ", "")],
    ["case 4 extended", { cla: 0x80, ins: 0x68, p1: 1, p2: 0x20, data: fromHex("0102"), ne: 512 }, undefined, "8068012000000201020200"],
  ];

  for (const [name, fields, options, hex] of cases) {
    it(name, () => {
      expect(toHex(encodeCommandApdu(fields, options))).toBe(hex);
    });
  }

  it("switches to extended above 255 data bytes", () => {
    const frame = encodeCommandApdu({ cla: 0, ins: 0xd7, p1: 0, p2: 0, data: new Uint8Array(256) });
    expect(toHex(frame.subarray(0, 7))).toBe("00D70000000100");
    expect(frame.length).toBe(7 + 256);
  });

  it("rejects out-of-range fields", () => {
    expect(() => encodeCommandApdu({ cla: 256, ins: 0, p1: 0, p2: 0 })).toThrow(/invalid CLA 256/);
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: -1, p2: 0 })).toThrow(RangeError);
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, ne: 65537 })).toThrow(/invalid Ne/);
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(65536) })).toThrow(/Nc/);
  });
});

describe("response APDU", () => {
  it("round trips", () => {
    const frame = encodeResponseApdu(fromHex("0102"), SW.OK);
    expect(toHex(frame)).toBe("01029000");
    expect(parseResponseApdu(frame)).toEqual({ data: fromHex("0102"), sw: 0x9000 });
  });

  it("rejects a frame without SW", () => {
    expect(() => parseResponseApdu(fromHex("90"))).toThrow(RangeError);
  });
});

describe("status words", () => {
  it("retriesLeftSw", () => {
    expect(retriesLeftSw(3)).toBe(0x63c3);
    expect(() => retriesLeftSw(16)).toThrow(RangeError);
  });

  it("describeStatusWord", () => {
    expect(describeStatusWord(SW.FILE_NOT_FOUND)).toBe("6A82 file or application not found");
    expect(describeStatusWord(0x6110)).toBe("6110 16 response bytes remaining");
    expect(describeStatusWord(0x63c2)).toBe("63C2 verification failed, 2 retries left");
    expect(describeStatusWord(0x6c00)).toBe("6C00 wrong Le field, 256 bytes available");
    expect(describeStatusWord(0x1234)).toBe("1234 unknown status word");
  });

  it("CardError carries the SW", () => {
    const error = new CardError(SW.SECURITY_STATUS_NOT_SATISFIED);
    expect(error.sw).toBe(0x6982);
    expect(error.message).toBe("6982 security status not satisfied");
    expect(error.name).toBe("CardError");
    expect(new CardError(SW.WRONG_DATA, "bad key reference").message).toBe("bad key reference");
    expect(() => new CardError(0x10000)).toThrow(RangeError);
  });
});
