// Hard cases: every malformed shape is a TlvError naming the offset and the tag.
import { describe, expect, it } from "vitest";
import {
  children,
  decodeTlv,
  decodeTlvs,
  encodeLength,
  encodeTag,
  encodeTlv,
  findTlv,
  findTlvDeep,
  fromHex,
  iterateTlvs,
  TlvError,
  toHex,
} from "../src/index.ts";

function decodeError(run: () => unknown): TlvError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TlvError);
    return error as TlvError;
  }
  throw new Error("expected a TlvError, but decoding succeeded");
}

describe("tags", () => {
  it("reads one, two and three byte tags", () => {
    const tlvs = decodeTlvs(fromHex("80 00 5F20 01 41 7F49 00 9F8101 01 FF DF7F 00"));
    expect(tlvs.map((tlv) => tlv.tag)).toEqual([0x80, 0x5f20, 0x7f49, 0x9f8101, 0xdf7f]);
    expect(tlvs.map((tlv) => tlv.constructed)).toEqual([false, false, true, false, false]);
    expect(tlvs.map((tlv) => tlv.offset)).toEqual([0, 2, 6, 9, 14]);
  });

  it("rejects a tag longer than three bytes", () => {
    const error = decodeError(() => decodeTlvs(fromHex("01 00 9F 81 82 01 00")));
    expect(error.offset).toBe(2);
    expect(error.message).toContain("at offset 2");
    expect(error.message).toContain("longer than 3 bytes");
  });

  it("rejects a truncated tag", () => {
    const error = decodeError(() => decodeTlvs(fromHex("5F")));
    expect(error.offset).toBe(0);
    expect(error.message).toContain("truncated tag");
    expect(decodeError(() => decodeTlvs(fromHex("9F 81"))).message).toContain("truncated tag");
  });

  it("rejects first subsequent byte 80", () => {
    expect(decodeError(() => decodeTlvs(fromHex("9F 80 01 00"))).message).toContain("must not be 80");
  });

  it("rejects padding bytes by default", () => {
    const zero = decodeError(() => decodeTlvs(fromHex("80 01 AA 00 80 00")));
    expect(zero.offset).toBe(3);
    expect(zero.message).toContain("tag byte 00 is padding");

    const ff = decodeError(() => decodeTlvs(fromHex("FF 80 00")));
    expect(ff.offset).toBe(0);
    expect(ff.message).toContain("tag byte FF is padding");
  });

  it("skips padding when allowed", () => {
    const tlvs = decodeTlvs(fromHex("00 FF 80 01 AA 00 00 81 00 FF"), { allowPadding: true });
    expect(tlvs.map((tlv) => [tlv.tag, tlv.offset])).toEqual([
      [0x80, 2],
      [0x81, 7],
    ]);
  });

  it("encodeTag validates tag numbers", () => {
    expect(toHex(encodeTag(0x9f8101))).toBe("9F8101");
    for (const bad of [0, 0xff, 0x1f, 0x5f, 0x0120, 0x5f80, 0x9f80, 0x9f8180, 0x9f0101, 0x9f80_01, 0x1000000, -1, 1.5, 0xff20]) {
      expect(() => encodeTag(bad), `tag ${bad}`).toThrow(RangeError);
    }
  });
});

describe("lengths", () => {
  it("reads long forms 81 to 84", () => {
    for (const header of ["81 03", "82 00 03", "83 00 00 03", "84 00 00 00 03"]) {
      const tlv = decodeTlv(fromHex(`04 ${header} 01 02 03`));
      expect(toHex(tlv.value), header).toBe("010203");
    }
  });

  it("accepts a non-minimal long form", () => {
    expect(decodeTlv(fromHex("04 81 01 AA")).encodedLength).toBe(4);
  });

  it("rejects indefinite length", () => {
    const error = decodeError(() => decodeTlvs(fromHex("30 80 04 00 00 00")));
    expect(error.tag).toBe(0x30);
    expect(error.message).toBe("BER-TLV tag 30 at offset 0: indefinite length (80) is not allowed");
  });

  it("rejects length form 85 and above", () => {
    const error = decodeError(() => decodeTlvs(fromHex("04 85 00 00 00 00 01 AA")));
    expect(error.message).toContain("length form 85 is not supported");
    expect(error.tag).toBe(4);
  });

  it("rejects truncated length bytes", () => {
    const error = decodeError(() => decodeTlvs(fromHex("5F20 82 01")));
    expect(error.tag).toBe(0x5f20);
    expect(error.message).toContain("needs 2 length byte(s)");
    expect(decodeError(() => decodeTlvs(fromHex("5F20"))).message).toContain("length field is missing");
  });

  it("rejects a truncated value", () => {
    const error = decodeError(() => decodeTlvs(fromHex("80 00 7F49 84 FF FF FF FF 00")));
    expect(error.offset).toBe(2);
    expect(error.tag).toBe(0x7f49);
    expect(error.message).toContain("truncated: length 4294967295 but only 1 byte(s) of value follow");
  });

  it("rejects a child that overruns its parent", () => {
    const outer = decodeTlv(fromHex("E1 04 C1 05 01 02"));
    const error = decodeError(() => children(outer));
    expect(error.offset).toBe(2);
    expect(error.tag).toBe(0xc1);
    expect(error.message).toContain("overruns its parent");
  });

  it("encodeLength uses the shortest form", () => {
    const cases: Array<[number, string]> = [
      [0, "00"],
      [0x7f, "7F"],
      [0x80, "8180"],
      [0xff, "81FF"],
      [0x100, "820100"],
      [0xffff, "82FFFF"],
      [0x10000, "83010000"],
      [0x1000000, "8401000000"],
      [0xffffffff, "84FFFFFFFF"],
    ];
    for (const [length, hex] of cases) expect(toHex(encodeLength(length)), `length ${length}`).toBe(hex);
    for (const bad of [-1, 0.5, 0x100000000]) expect(() => encodeLength(bad)).toThrow(RangeError);
  });
});

describe("sequences", () => {
  it("decodeTlv rejects trailing bytes", () => {
    const error = decodeError(() => decodeTlv(fromHex("80 01 AA 90 00")));
    expect(error.offset).toBe(3);
    expect(error.message).toContain("2 unexpected byte(s) after the data object");
  });

  it("decodeTlv rejects empty input", () => {
    expect(decodeError(() => decodeTlv(new Uint8Array())).offset).toBe(0);
  });

  it("decodeTlvs of empty input is empty", () => {
    expect(decodeTlvs(new Uint8Array())).toEqual([]);
  });

  it("value is a view of the input", () => {
    const data = fromHex("80 02 AA BB");
    const tlv = decodeTlv(data);
    data[2] = 0x11;
    expect(tlv.value[0]).toBe(0x11);
  });

  it("iterateTlvs yields valid objects before a fault", () => {
    const iterator = iterateTlvs(fromHex("80 00 81 00 82 05"));
    expect(iterator.next().value?.tag).toBe(0x80);
    expect(iterator.next().value?.tag).toBe(0x81);
    expect(() => iterator.next()).toThrow(TlvError);
  });

  it("children reports absolute offsets", () => {
    const data = fromHex("80 00 A1 82 00 06 A2 04 83 02 01 02");
    const [, outer] = decodeTlvs(data);
    const [middle] = children(outer);
    const [inner] = children(middle);
    expect(middle.offset).toBe(6);
    expect(inner.offset).toBe(8);
    expect(toHex(data.subarray(inner.offset, inner.offset + inner.encodedLength))).toBe("83020102");
  });

  it("children rejects a primitive object", () => {
    const error = decodeError(() => children(decodeTlv(fromHex("80 02 80 00"))));
    expect(error.tag).toBe(0x80);
    expect(error.message).toContain("primitive");
  });

  it("children of an empty constructed object", () => {
    expect(children(decodeTlv(fromHex("7F49 00")))).toEqual([]);
  });
});

describe("search", () => {
  const data = encodeTlv(0x7f21, [
    encodeTlv(0x7f4e, [encodeTlv(0x42, fromHex("01")), encodeTlv(0x7f49, [encodeTlv(0x86, fromHex("04AA"))])]),
    encodeTlv(0x42, fromHex("02")),
  ]);

  it("findTlv looks at one level only", () => {
    expect(findTlv(data, 0x7f21)?.offset).toBe(0);
    expect(findTlv(data, 0x42)).toBeUndefined();
    expect(toHex(findTlv(children(decodeTlv(data)), 0x42)!.value)).toBe("02");
  });

  it("findTlvDeep returns the first in pre-order", () => {
    expect(toHex(findTlvDeep(data, 0x42)!.value)).toBe("01");
    expect(toHex(findTlvDeep(data, 0x86)!.value)).toBe("04AA");
    expect(findTlvDeep(data, 0x5f20)).toBeUndefined();
  });

  it("findTlvDeep throws on a malformed constructed value", () => {
    const bad = fromHex("A1 03 80 05 00");
    expect(() => findTlvDeep(bad, 0x99)).toThrow(TlvError);
  });

  it("findTlv rejects malformed input before the search", () => {
    expect(() => findTlv(fromHex("80 00 81"), 0x80)).toThrow(TlvError);
  });
});
