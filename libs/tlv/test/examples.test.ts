// Published and recorded BER-TLV data decoded end to end.
import { describe, expect, it } from "vitest";
import { children, concatBytes, decodeTlv, decodeTlvs, encodeTlv, findTlv, findTlvDeep, fromHex, toHex } from "../src/index.ts";

describe("EMV examples", () => {
  // SELECT 1PAY.SYS.DDF01 and READ RECORD responses printed by the javaemvreader
  // project's "ExampleOutput" wiki page (code.google.com/p/javaemvreader).
  const pseFci = fromHex("6f 20 84 0e 31 50 41 59 2e 53 59 53 2e 44 44 46 30 31 a5 0e 88 01 02 5f 2d 04 6e 6f 65 6e 9f 11 01 01");
  const record = fromHex(
    "70 23 61 21 4f 07 a1 23 45 67 89 10 10 50 04 56 49 53 41 9f 12 0c 56 49 53 41 20 43 6c 61 73 73 69 63 87 01 02",
  );

  it("PSE FCI template decodes", () => {
    const fci = decodeTlv(pseFci);
    expect(fci.tag).toBe(0x6f);
    expect(fci.constructed).toBe(true);
    expect(fci.encodedLength).toBe(34);

    const [dfName, proprietary] = children(fci);
    expect(dfName.tag).toBe(0x84);
    expect(new TextDecoder().decode(dfName.value)).toBe("1PAY.SYS.DDF01");
    expect(proprietary.tag).toBe(0xa5);

    const inner = children(proprietary);
    expect(inner.map((tlv) => tlv.tag)).toEqual([0x88, 0x5f2d, 0x9f11]);
    expect(new TextDecoder().decode(inner[1].value)).toBe("noen");
    expect(inner[1].offset).toBe(23);
    expect(inner[2].offset).toBe(30);
  });

  it("PSE FCI re-encodes byte for byte", () => {
    const fci = decodeTlv(pseFci);
    const proprietary = children(fci)[1];
    const rebuilt = encodeTlv(0x6f, [
      encodeTlv(0x84, new TextEncoder().encode("1PAY.SYS.DDF01")),
      encodeTlv(0xa5, children(proprietary).map((tlv) => encodeTlv(tlv.tag, tlv.value))),
    ]);
    expect(toHex(rebuilt)).toBe(toHex(pseFci));
  });

  it("record finds the application label deep", () => {
    const label = findTlvDeep(record, 0x9f12);
    expect(label).toBeDefined();
    expect(new TextDecoder().decode(label!.value)).toBe("VISA Classic");
    expect(findTlv(record, 0x9f12)).toBeUndefined();
    expect(toHex(findTlvDeep(record, 0x4f)!.value)).toBe("A1234567891010");
  });
});

describe("SmartCard-HSM examples", () => {
  // SELECT response (FCP) of the SmartCard-HSM applet recorded from the Pico HSM
  // firmware with OpenSC 0.23.
  const fcp = fromHex("62 22 81 02 00 00 82 01 01 83 02 00 00 84 0B 2B 06 01 04 01 81 C3 1F 02 01 30 8A 01 05 85 05 00 00 FF 06 06");

  it("SELECT FCP decodes", () => {
    const template = decodeTlv(fcp);
    expect(template.tag).toBe(0x62);
    expect(children(template).map((tlv) => tlv.tag)).toEqual([0x81, 0x82, 0x83, 0x84, 0x8a, 0x85]);
    expect(toHex(findTlv(children(template), 0x85)!.value)).toBe("0000FF0606");
  });

  // Authenticated CV request returned by GENERATE ASYMMETRIC KEY PAIR for an
  // RSA-2048 key, recorded from the same firmware. Filler bytes replace the
  // 256-byte modulus, the 256-byte signature and the 64-byte outer signature.
  // Every header is as recorded, including the long forms 81 and 82.
  const modulus = new Uint8Array(256).fill(0x9a);
  const signature = new Uint8Array(256).fill(0x62);
  const outerSignature = new Uint8Array(64).fill(0x2a);
  const request = concatBytes(
    fromHex("67 82 02 A0 7F 21 82 02 46 7F 4E 82 01 3C 5F 29 01 00 42 09 55 54 43 41 30 30 30 30 31"),
    fromHex("7F 49 82 01 15 06 0A 04 00 7F 00 07 02 02 02 01 02 81 82 01 00"),
    modulus,
    fromHex("82 03 01 00 01 5F 20 10 45 53 50 49 43 4F 48 53 4D 54 52 30 30 30 30 31 5F 37 82 01 00"),
    signature,
    fromHex("42 10 45 53 50 49 43 4F 48 53 4D 54 52 30 30 30 30 31 5F 37 40"),
    outerSignature,
  );

  it("CV request sizes match the headers", () => {
    const outer = decodeTlv(request);
    expect(request.length).toBe(676);
    expect(outer.tag).toBe(0x67);
    expect(outer.encodedLength).toBe(676);
    expect(children(outer).map((tlv) => tlv.tag)).toEqual([0x7f21, 0x42, 0x5f37]);
  });

  it("CV request finds nested objects", () => {
    const publicKey = findTlvDeep(request, 0x7f49)!;
    expect(publicKey.constructed).toBe(true);
    expect(publicKey.value.length).toBe(0x115);

    const found = findTlvDeep(request, 0x81)!;
    expect(found.value).toEqual(modulus);
    expect(found.offset).toBe(4 + 5 + 5 + 4 + 11 + 5 + 12);
    expect(toHex(findTlvDeep(request, 0x82)!.value)).toBe("010001");
    expect(new TextDecoder().decode(findTlvDeep(request, 0x5f20)!.value)).toBe("ESPICOHSMTR00001");
    expect(findTlvDeep(request, 0x5f37)!.value).toEqual(signature);
  });

  it("CV request round trips through encodeTlv", () => {
    const rebuild = (bytes: Uint8Array): Uint8Array =>
      concatBytes(
        ...decodeTlvs(bytes).map((tlv) => (tlv.constructed ? encodeTlv(tlv.tag, rebuild(tlv.value)) : encodeTlv(tlv.tag, tlv.value))),
      );
    expect(rebuild(request)).toEqual(request);
  });
});
