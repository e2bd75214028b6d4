import { cmac } from "@noble/ciphers/aes.js";
import { describe, expect, it } from "vitest";

import {
  decodeKeyBlob,
  deriveBlobKeys,
  dkekKcv,
  encodeKeyBlob,
  KeyBlobError,
  keyBlobType,
  type KeyBlobErrorCode,
  type KeyBlobKey,
} from "../src/index.ts";

const hex = (text: string) => Uint8Array.from(text.replace(/\s+/g, "").match(/../g)!.map((byte) => parseInt(byte, 16)));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, "0")).join("");
const filled = (byte: number, length = 32) => new Uint8Array(length).fill(byte);

/** AES-128 key 00..0F wrapped under DKEK 01×32 with random A0..A7 and allowed algorithms 10 11 18 99 51 52. */
const AES_EXAMPLE = {
  dkek: filled(0x01),
  key: hex("000102030405060708090A0B0C0D0E0F"),
  random: hex("A0A1A2A3A4A5A6A7"),
  allowedAlgorithms: hex("101118995152"),
  blob: hex(`72CD6E8422C407FB 0F 00086086480165030401 0006101118995152 0000 0000
    FFC9AA7A25B857B93C11C2BDF10C7781987D6CB99346D7C2C6C8B68787DD1C38
    9ED8EA275518FF597E3128B1729654D2`),
};

function expectBlobError(action: () => unknown, code: KeyBlobErrorCode): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyBlobError);
    expect((error as KeyBlobError).code).toBe(code);
    return;
  }
  throw new Error(`expected KeyBlobError ${code}, nothing was thrown`);
}

describe("DKEK derivations", () => {
  it("match the vectors for DKEK 00×32", () => {
    const keys = deriveBlobKeys(filled(0));

    expect(toHex(dkekKcv(filled(0)))).toBe("66687AADF862BD77");
    expect(toHex(keys.enc)).toBe("2158A8906D5E2C2BE001BAC943AB9CAB4063536E1C546B40221FDF8DB031A4BB");
    expect(toHex(keys.mac)).toBe("E15F374423633701E04FE17C1D640B34F2E27B8F6AEC00E24F1DCF50AD0920B3");
  });

  it("match the vectors for DKEK 01×32", () => {
    const keys = deriveBlobKeys(filled(1));

    expect(toHex(dkekKcv(filled(1)))).toBe("72CD6E8422C407FB");
    expect(toHex(keys.enc)).toBe("4791E3200A4F63B6473300594CA6212DCE17C6231A3E642A86B30480A709EB7A");
    expect(toHex(keys.mac)).toBe("DE48FEEF65570607878BCA4C6257B0C0C86D78E27271F98E6DC3A9140805C8E0");
  });
});

describe("key blob known answer", () => {
  it("encodes the AES-128 example byte for byte", () => {
    const blob = encodeKeyBlob(AES_EXAMPLE.dkek, { type: "aes", key: AES_EXAMPLE.key }, {
      random: AES_EXAMPLE.random,
      allowedAlgorithms: AES_EXAMPLE.allowedAlgorithms,
    });

    expect(blob).toHaveLength(79);
    expect(toHex(blob)).toBe(toHex(AES_EXAMPLE.blob));
  });

  it("decodes the AES-128 example", () => {
    const decoded = decodeKeyBlob(AES_EXAMPLE.dkek, AES_EXAMPLE.blob);

    expect(decoded.key).toEqual({ type: "aes", key: AES_EXAMPLE.key });
    expect(decoded.allowedAlgorithms).toEqual(AES_EXAMPLE.allowedAlgorithms);
    expect(toHex(decoded.kcv)).toBe("72CD6E8422C407FB");
  });
});

describe("key blob round trips", () => {
  const dkek = crypto.getRandomValues(new Uint8Array(32));
  const cases: [string, KeyBlobKey][] = [
    ["RSA", { type: "rsa", n: filled(0xc1, 256), e: hex("010001"), d: filled(0x5a, 255) }],
    [
      "RSA-CRT",
      {
        type: "rsa-crt",
        n: filled(0xc1, 128),
        e: hex("03"),
        p: filled(0xe1, 64),
        q: filled(0xd1, 64),
        dp: filled(0x11, 64),
        dq: filled(0x22, 64),
        qi: filled(0x33, 64),
      },
    ],
    [
      "EC",
      {
        type: "ec",
        fieldBits: 256,
        a: filled(0xaa),
        b: filled(0xbb),
        p: filled(0xff),
        n: filled(0xee),
        g: new Uint8Array([4, ...filled(0x66, 64)]),
        d: filled(0x77),
        q: new Uint8Array([4, ...filled(0x88, 64)]),
      },
    ],
    ["AES-256", { type: "aes", key: filled(0x42) }],
    ["AES-XTS", { type: "aes", key: filled(0x43, 64) }],
  ];

  for (const [name, key] of cases) {
    it(`keeps every component of ${name}`, () => {
      const blob = encodeKeyBlob(dkek, key, { allowedAlgorithms: hex("9270") });
      const decoded = decodeKeyBlob(dkek, blob);

      expect(decoded.key).toEqual(key);
      expect(decoded.allowedAlgorithms).toEqual(hex("9270"));
    });
  }

  it("drops leading zero bytes of components", () => {
    const key: KeyBlobKey = { type: "rsa", n: hex("00C1C2"), e: hex("010001"), d: hex("0000AB") };
    const decoded = decodeKeyBlob(dkek, encodeKeyBlob(dkek, key));

    expect(decoded.key).toEqual({ type: "rsa", n: hex("C1C2"), e: hex("010001"), d: hex("AB") });
  });

  it("decodes an EC blob without Q", () => {
    const withoutQ = { ...(cases[2][1] as Extract<KeyBlobKey, { type: "ec" }>), q: new Uint8Array(0) };
    const decoded = decodeKeyBlob(dkek, encodeKeyBlob(dkek, withoutQ));

    expect(decoded.key).toEqual(withoutQ);
  });
});

describe("key blob rejections", () => {
  const blob = AES_EXAMPLE.blob;

  it("rejects another DKEK by KCV", () => {
    expectBlobError(() => decodeKeyBlob(filled(2), blob), "kcv-mismatch");
  });

  it("rejects every altered byte after the KCV", () => {
    for (let i = 8; i < blob.length; i++) {
      const altered = blob.slice();
      altered[i] ^= 0x01;
      const code = i === 8 ? "unknown-type" : "mac";
      expectBlobError(() => decodeKeyBlob(AES_EXAMPLE.dkek, altered), code);
    }
  });

  it("rejects truncated blobs", () => {
    for (const length of [0, 10, 40, blob.length - 16, blob.length - 1]) {
      const code = length < 42 ? "format" : "mac";
      expectBlobError(() => decodeKeyBlob(AES_EXAMPLE.dkek, blob.subarray(0, length)), code);
    }
  });

  it("rejects an unknown key type before the KCV", () => {
    const altered = blob.slice();
    altered[8] = 0x07;

    expectBlobError(() => keyBlobType(altered), "unknown-type");
    expectBlobError(() => decodeKeyBlob(filled(9), altered), "unknown-type");
  });

  it("rejects an OID that does not fit the type", () => {
    const rsa = encodeKeyBlob(AES_EXAMPLE.dkek, { type: "rsa", n: hex("C1"), e: hex("03"), d: hex("05") });
    const relabelled = rsa.slice();
    relabelled[8] = 0x0c;
    const keys = deriveBlobKeys(AES_EXAMPLE.dkek);
    // Re-authenticate the relabelled blob so that only the OID check can reject it.
    const resigned = resign(relabelled, keys.mac);

    expectBlobError(() => decodeKeyBlob(AES_EXAMPLE.dkek, resigned), "content");
  });

  it("rejects an AES key of a length UNWRAP does not accept", () => {
    expect(() => encodeKeyBlob(AES_EXAMPLE.dkek, { type: "aes", key: filled(1, 20) })).toThrow(RangeError);
  });
});

function resign(blob: Uint8Array, macKey: Uint8Array): Uint8Array {
  const body = blob.subarray(0, blob.length - 16);
  const out = blob.slice();
  out.set(cmac(body, macKey), blob.length - 16);
  return out;
}
