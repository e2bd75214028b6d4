import * as nodeCrypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeDigestInfo, hash, hashByLength, HASH_NAMES, hashLength, parseDigestInfo } from "../src/crypto/hash.ts";

const NODE_HASH = { "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

// DigestInfo prefixes as PKCS#1 (RFC 8017 §9.2, note 1) lists them; OpenSC sends these forms.
const PREFIXES = {
  "SHA-1": "3021300906052b0e03021a05000414",
  "SHA-224": "302d300d06096086480165030402040500041c",
  "SHA-256": "3031300d060960864801650304020105000420",
  "SHA-384": "3041300d060960864801650304020205000430",
  "SHA-512": "3051300d060960864801650304020305000440",
};

const hex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));
const data = new TextEncoder().encode("abc");

describe("hash", () => {
  it.each(HASH_NAMES)("computes %s like node:crypto", (name) => {
    const expected = nodeCrypto.createHash(NODE_HASH[name]).update(data).digest();
    expect(hash(name, data)).toEqual(new Uint8Array(expected));
    expect(hashLength(name)).toBe(expected.length);
    expect(hashByLength(expected.length)).toBe(name);
  });

  it("finds no hash for other lengths", () => {
    expect(hashByLength(16)).toBeUndefined();
    expect(hashByLength(0)).toBeUndefined();
  });
});

describe("DigestInfo", () => {
  it.each(HASH_NAMES)("encodes %s with the PKCS#1 prefix", (name) => {
    const digest = hash(name, data);
    const encoded = encodeDigestInfo(name, digest);
    expect(Buffer.from(encoded).toString("hex")).toBe(PREFIXES[name] + Buffer.from(digest).toString("hex"));
    expect(parseDigestInfo(encoded)).toEqual({ hash: name, digest });
  });

  it("parses the form without NULL parameters", () => {
    const digest = hash("SHA-256", data);
    const withoutNull = hex("302f300b0609608648016503040201" + "0420" + Buffer.from(digest).toString("hex"));
    expect(parseDigestInfo(withoutNull)).toEqual({ hash: "SHA-256", digest });
  });

  it("rejects malformed or unknown input", () => {
    const good = encodeDigestInfo("SHA-256", hash("SHA-256", data));
    expect(parseDigestInfo(Uint8Array.of(...good, 0))).toBeUndefined();
    expect(parseDigestInfo(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(parseDigestInfo(hash("SHA-256", data))).toBeUndefined();
    expect(parseDigestInfo(new Uint8Array(0))).toBeUndefined();

    const md5 = hex("3020300c06082a864886f70d020505000410" + "00".repeat(16));
    expect(parseDigestInfo(md5)).toBeUndefined();

    const shortDigest = hex("3030300d06096086480165030402010500041f" + "00".repeat(31));
    expect(parseDigestInfo(shortDigest)).toBeUndefined();

    const wrongParameters = good.slice();
    wrongParameters[17] = 0x01;
    expect(parseDigestInfo(wrongParameters)).toBeUndefined();
  });

  it("rejects a digest of the wrong length when encoding", () => {
    expect(() => encodeDigestInfo("SHA-256", new Uint8Array(20))).toThrow(RangeError);
  });
});
