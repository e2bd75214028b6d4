// SIGNATURE through the device's transmit, every algorithm byte, each signature checked with
// node:crypto or @noble/curves against the public key from the key's CV request.
import * as nodeCrypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { CvcPublicKey } from "@hsmkit/cvc";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import { encodeDigestInfo, hash, HASH_NAMES, hashLength, type HashName } from "../src/crypto/hash.ts";
import { ascii, ecTemplate, extendedFrame, fixedBytes, generatedPublicKey, openCard, rsaTemplate, type Card } from "./keys-fixture.ts";

const NODE_HASH: Record<HashName, string> = {
  "SHA-1": "sha1",
  "SHA-224": "sha224",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

const JWK_CURVE: Record<number, string> = { 65: "P-256", 97: "P-384", 133: "P-521" };

/** The 45-byte message of the recorded OpenSC signing sessions. */
const MESSAGE = ascii("OpenSC SmartCard-HSM transcript test message\n");

const EC_P256 = 1;
const RSA_2048 = 2;
const RSA_1024 = 3;
const EC_P384 = 4;
const EC_SECP256K1 = 5;
const EC_P521 = 6;
const LIMITED = 7;

let card: Card;
const publicKeys = new Map<number, CvcPublicKey>();

beforeAll(async () => {
  card = await openCard();
  publicKeys.set(EC_P256, await generatedPublicKey(card, EC_P256, ecTemplate("secp256r1")));
  publicKeys.set(RSA_2048, await generatedPublicKey(card, RSA_2048, rsaTemplate(2048)));
  publicKeys.set(RSA_1024, await generatedPublicKey(card, RSA_1024, rsaTemplate(1024)));
  publicKeys.set(EC_P384, await generatedPublicKey(card, EC_P384, ecTemplate("secp384r1")));
  publicKeys.set(EC_SECP256K1, await generatedPublicKey(card, EC_SECP256K1, ecTemplate("secp256k1")));
  publicKeys.set(EC_P521, await generatedPublicKey(card, EC_P521, ecTemplate("secp521r1")));
});

/** Sends `80 68 kk alg` as OpenSC does: extended Lc and Le 0200. */
function sign(keyId: number, algorithm: number, data: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  return card.sendRaw(extendedFrame(header(0x68, keyId, algorithm), data, 512));
}

function header(ins: number, p1: number, p2: number): string {
  return [0x80, ins, p1, p2].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function nodeKey(keyId: number): nodeCrypto.KeyObject {
  const key = publicKeys.get(keyId)!;
  if (key.kind === "rsa") {
    return nodeCrypto.createPublicKey({ key: { kty: "RSA", n: base64Url(key.modulus), e: base64Url(key.exponent) }, format: "jwk" });
  }
  if (key.kind !== "ec") throw new Error(`key ${keyId} is ${key.kind}`);

  const f = (key.point.length - 1) / 2;
  const jwk = { kty: "EC", crv: JWK_CURVE[key.point.length], x: base64Url(key.point.subarray(1, 1 + f)), y: base64Url(key.point.subarray(1 + f)) };
  return nodeCrypto.createPublicKey({ key: jwk, format: "jwk" });
}

function base64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** Returns signature^e mod n in k bytes: the encoded block the card produced. */
function openRsa(keyId: number, signature: Uint8Array): Uint8Array {
  const key = publicKeys.get(keyId)!;
  if (key.kind !== "rsa") throw new Error(`key ${keyId} is ${key.kind}`);
  const n = toBigInt(key.modulus);
  const e = toBigInt(key.exponent);
  return fixedBytes(modPow(toBigInt(signature), e, n), key.modulus.length);
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + toHex(bytes));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** EMSA-PKCS1-v1_5 block 00 01 FF…FF 00 ‖ `digestInfo` of `k` bytes. */
function pkcs1Block(digestInfo: Uint8Array, k: number): Uint8Array {
  const block = new Uint8Array(k).fill(0xff);
  block[0] = 0x00;
  block[1] = 0x01;
  block[k - digestInfo.length - 1] = 0x00;
  block.set(digestInfo, k - digestInfo.length);
  return block;
}

function verifyPkcs1(keyId: number, hashName: HashName, signature: Uint8Array): boolean {
  return nodeCrypto.verify(NODE_HASH[hashName], MESSAGE, { key: nodeKey(keyId), padding: nodeCrypto.constants.RSA_PKCS1_PADDING }, signature);
}

function verifyPss(keyId: number, hashName: HashName, signature: Uint8Array, saltLength: number): boolean {
  const options = { key: nodeKey(keyId), padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength };
  return nodeCrypto.verify(NODE_HASH[hashName], MESSAGE, options, signature);
}

const NOBLE_CURVE: Record<number, typeof p256> = { 65: p256, 97: p384, 133: p521 };

/**
 * Verifies a DER ECDSA signature of MESSAGE. Deno 2.9's node:crypto rejects hashes shorter than
 * half the field length (SHA-1 on P-384, SHA-256 on P-521), so @noble/curves checks those.
 */
function verifyEcdsa(keyId: number, hashName: HashName, signature: Uint8Array): boolean {
  const key = publicKeys.get(keyId)!;
  if (key.kind !== "ec") throw new Error(`key ${keyId} is ${key.kind}`);

  const fieldBytes = (key.point.length - 1) / 2;
  if (2 * hashLength(hashName) >= fieldBytes) {
    return nodeCrypto.verify(NODE_HASH[hashName], MESSAGE, { key: nodeKey(keyId), dsaEncoding: "der" }, signature);
  }
  const curve = NOBLE_CURVE[key.point.length];
  return curve.verify(signature, hash(hashName, MESSAGE), key.point, { prehash: false, format: "der", lowS: false });
}

describe("SIGNATURE, OpenSC shapes", () => {
  it("ECDSA-SHA256 with 73 returns DER", async () => {
    const response = await card.sendRaw(extendedFrame("80680173", MESSAGE, 512));
    expect(response.sw).toBe(0x9000);
    expect(response.data[0]).toBe(0x30);
    expect(response.data.length).toBeGreaterThanOrEqual(70);
    expect(response.data.length).toBeLessThanOrEqual(72);
    expect(verifyEcdsa(EC_P256, "SHA-256", response.data)).toBe(true);
  });

  it("host-padded PKCS#1 block with 20", async () => {
    const block = pkcs1Block(encodeDigestInfo("SHA-256", sha256(MESSAGE)), 256);
    const response = await card.sendRaw(extendedFrame("80680220", block, 512));
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(256);
    expect(verifyPkcs1(RSA_2048, "SHA-256", response.data)).toBe(true);
  });

  it("PSS over a DigestInfo with 40", async () => {
    const digestInfo = encodeDigestInfo("SHA-256", sha256(MESSAGE));
    expect(digestInfo.length).toBe(51);
    const response = await card.sendRaw(extendedFrame("80680240", digestInfo, 512));
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(256);
    expect(verifyPss(RSA_2048, "SHA-256", response.data, 32)).toBe(true);
  });
});

describe("SIGNATURE, RSA", () => {
  it("20 signs the raw block", async () => {
    const block = pkcs1Block(encodeDigestInfo("SHA-512", hash("SHA-512", MESSAGE)), 128);
    const response = await sign(RSA_1024, 0x20, block);
    expect(response.sw).toBe(0x9000);
    expect(toHex(openRsa(RSA_1024, response.data))).toBe(toHex(block));
  });

  it("20 does not parse a DigestInfo", async () => {
    // A bare DigestInfo is zero-padded on the right and signed raw, not PKCS#1-padded.
    const digestInfo = encodeDigestInfo("SHA-256", sha256(MESSAGE));
    const response = await sign(RSA_2048, 0x20, digestInfo);
    expect(response.sw).toBe(0x9000);

    const expected = new Uint8Array(256);
    expected.set(digestInfo);
    expect(toHex(openRsa(RSA_2048, response.data))).toBe(toHex(expected));
  });

  for (const name of HASH_NAMES) {
    it(`30 with a ${name} DigestInfo`, async () => {
      const response = await sign(RSA_2048, 0x30, encodeDigestInfo(name, hash(name, MESSAGE)));
      expect(response.sw).toBe(0x9000);
      expect(response.data.length).toBe(256);
      expect(verifyPkcs1(RSA_2048, name, response.data)).toBe(true);
    });
  }

  it("30 with MD5 and RIPEMD-160 DigestInfos", async () => {
    const md5 = fromHex("3020300c06082a864886f70d020505000410" + "11".repeat(16));
    const ripemd = fromHex("3021300906052b2403020105000414" + "22".repeat(20));
    for (const digestInfo of [md5, ripemd]) {
      const response = await sign(RSA_2048, 0x30, digestInfo);
      expect(response.sw).toBe(0x9000);
      expect(toHex(openRsa(RSA_2048, response.data))).toBe(toHex(pkcs1Block(digestInfo, 256)));
    }
  });

  HASH_NAMES.forEach((name, index) => {
    const algorithm = 0x31 + index;
    it(`${algorithm.toString(16)} hashes with ${name}, PKCS#1 v1.5`, async () => {
      const response = await sign(RSA_2048, algorithm, MESSAGE);
      expect(response.sw).toBe(0x9000);
      expect(verifyPkcs1(RSA_2048, name, response.data)).toBe(true);
    });

    it(`${(0x41 + index).toString(16)} hashes with ${name}, PSS`, async () => {
      const response = await sign(RSA_2048, 0x41 + index, MESSAGE);
      expect(response.sw).toBe(0x9000);
      expect(verifyPss(RSA_2048, name, response.data, hashLength(name))).toBe(true);
    });

    it(`40 with a raw ${name} hash`, async () => {
      const response = await sign(RSA_2048, 0x40, hash(name, MESSAGE));
      expect(response.sw).toBe(0x9000);
      expect(verifyPss(RSA_2048, name, response.data, hashLength(name))).toBe(true);
    });
  });

  it("45 on RSA-1024 uses a 62-byte salt", async () => {
    const response = await sign(RSA_1024, 0x45, MESSAGE);
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(128);
    expect(verifyPss(RSA_1024, "SHA-512", response.data, 62)).toBe(true);
  });

  it("RSA result ignores a short Le", async () => {
    const frame = concatBytes(fromHex("80683133"), Uint8Array.of(MESSAGE.length), MESSAGE, Uint8Array.of(0x10));
    frame[2] = RSA_2048;
    const response = await card.sendRaw(frame);
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(256);
    expect(verifyPkcs1(RSA_2048, "SHA-256", response.data)).toBe(true);
  });
});

describe("SIGNATURE, ECDSA", () => {
  for (const [keyId, label] of [
    [EC_P256, "P-256"],
    [EC_P384, "P-384"],
    [EC_P521, "P-521"],
  ] as const) {
    HASH_NAMES.forEach((name, index) => {
      it(`${(0x71 + index).toString(16)} on ${label} with ${name}`, async () => {
        const response = await sign(keyId, 0x71 + index, MESSAGE);
        expect(response.sw).toBe(0x9000);
        expect(verifyEcdsa(keyId, name, response.data)).toBe(true);
      });
    });

    it(`70 on ${label} with a SHA-256 hash`, async () => {
      const response = await sign(keyId, 0x70, sha256(MESSAGE));
      expect(response.sw).toBe(0x9000);
      expect(verifyEcdsa(keyId, "SHA-256", response.data)).toBe(true);
    });
  }

  it("70 truncates a longer hash", async () => {
    const response = await sign(EC_P256, 0x70, hash("SHA-512", MESSAGE));
    expect(response.sw).toBe(0x9000);
    expect(verifyEcdsa(EC_P256, "SHA-512", response.data)).toBe(true);
  });

  it("73 on secp256k1", async () => {
    const key = publicKeys.get(EC_SECP256K1)!;
    if (key.kind !== "ec") throw new Error("expected an EC key");
    const response = await sign(EC_SECP256K1, 0x73, MESSAGE);
    expect(response.sw).toBe(0x9000);
    const valid = secp256k1.verify(response.data, sha256(MESSAGE), key.point, { prehash: false, format: "der", lowS: false });
    expect(valid).toBe(true);
  });
});

describe("SIGNATURE, rejected", () => {
  async function expectSw(keyId: number, algorithm: number, data: Uint8Array, sw: number): Promise<void> {
    const response = await sign(keyId, algorithm, data);
    expect(response.sw.toString(16)).toBe(sw.toString(16));
    expect(response.data.length).toBe(0);
  }

  it("undefined P2 with 6A86", async () => {
    for (const algorithm of [0x00, 0x21, 0x2f, 0x36, 0x46, 0x76, 0x80]) {
      await expectSw(RSA_2048, algorithm, sha256(MESSAGE), 0x6a86);
    }
  });

  it("A0 without HD node with 6985", async () => {
    await expectSw(0, 0xa0, sha256(MESSAGE), 0x6985);
  });

  it("key 0 with 6982", async () => {
    await expectSw(0, 0x73, MESSAGE, 0x6982);
  });

  it("missing key with 6A82", async () => {
    await expectSw(0x99, 0x73, MESSAGE, 0x6a82);
  });

  it("wrong key type with 6400", async () => {
    await expectSw(EC_P256, 0x20, new Uint8Array(32), 0x6400);
    await expectSw(EC_P256, 0x33, MESSAGE, 0x6400);
    await expectSw(RSA_2048, 0x73, MESSAGE, 0x6400);
    await expectSw(RSA_2048, 0x70, sha256(MESSAGE), 0x6400);
  });

  it("raw block longer than k with 6700", async () => {
    await expectSw(RSA_2048, 0x20, new Uint8Array(257), 0x6700);
  });

  it("raw block not below n with 6400", async () => {
    await expectSw(RSA_2048, 0x20, new Uint8Array(256).fill(0xff), 0x6400);
  });

  it("30 without a DigestInfo with 6400", async () => {
    await expectSw(RSA_2048, 0x30, sha256(MESSAGE), 0x6400);
    const withoutNull = fromHex("302f300b0609608648016503040201" + "0420");
    await expectSw(RSA_2048, 0x30, concatBytes(withoutNull, sha256(MESSAGE)), 0x6400);
  });

  it("40 with an unknown hash length with 6400", async () => {
    await expectSw(RSA_2048, 0x40, new Uint8Array(33), 0x6400);
  });

  it("70 without data with 6700", async () => {
    await expectSw(EC_P256, 0x70, new Uint8Array(), 0x6700);
  });

  it("not logged in with 6982", async () => {
    await card.select();
    try {
      await expectSw(EC_P256, 0x73, MESSAGE, 0x6982);
    } finally {
      await card.login();
    }
  });
});

describe("SIGNATURE, key metadata", () => {
  it("counter and algorithm list", async () => {
    const metadata = [encodeTlv(0x90, Uint8Array.of(0, 0, 0, 2)), encodeTlv(0x91, Uint8Array.of(0x73))];
    const key = await generatedPublicKey(card, LIMITED, ecTemplate("secp256r1"), metadata);
    publicKeys.set(LIMITED, key);

    // An algorithm outside the list is 6985 and uses nothing up.
    expect((await sign(LIMITED, 0x70, sha256(MESSAGE))).sw.toString(16)).toBe("6985");

    const first = await sign(LIMITED, 0x73, MESSAGE);
    expect(first.sw).toBe(0x9000);
    expect(verifyEcdsa(LIMITED, "SHA-256", first.data)).toBe(true);

    // The card hashes an empty message like any other.
    expect((await sign(LIMITED, 0x73, new Uint8Array(0))).sw).toBe(0x9000);

    expect((await sign(LIMITED, 0x73, MESSAGE)).sw.toString(16)).toBe("6a84");
  });

  it("failed signature keeps the counter", async () => {
    const keyId = LIMITED + 1;
    await generatedPublicKey(card, keyId, ecTemplate("secp256r1"), [encodeTlv(0x90, Uint8Array.of(0, 0, 0, 1))]);

    expect((await sign(keyId, 0x70, new Uint8Array())).sw.toString(16)).toBe("6700");
    expect((await sign(keyId, 0x20, new Uint8Array(32))).sw.toString(16)).toBe("6400");
    expect((await sign(keyId, 0x73, MESSAGE)).sw).toBe(0x9000);
    expect((await sign(keyId, 0x73, MESSAGE)).sw.toString(16)).toBe("6a84");
  });
});
