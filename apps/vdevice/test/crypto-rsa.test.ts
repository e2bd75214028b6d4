// Signs and decrypts with the card's RSA code on each engine (libcrypto and node:crypto) and checks
// each result with node:crypto's public-key side (verify, publicEncrypt), which never touches the
// private key under test.
import * as nodeCrypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { CardError } from "@hsmkit/apdu";
import { encodeDigestInfo, hash, HASH_NAMES, hashLength, type HashName } from "../src/crypto/hash.ts";
import { openLibcryptoRsaEngine } from "../src/crypto/openssl-rsa.ts";
import {
  createRsaOperations,
  encodeRsaPrivateKey,
  nodeRsaEngine,
  rsaModulusBytes,
  type RsaOperations,
  type RsaPrivateKey,
} from "../src/crypto/rsa.ts";

const NODE_HASH: Record<HashName, string> = {
  "SHA-1": "sha1",
  "SHA-224": "sha224",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

const message = new TextEncoder().encode("the card signs this message");

function toBase64Url(value: bigint): string {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = "0" + hex;
  return Buffer.from(hex, "hex").toString("base64url");
}

function publicKeyOf(key: RsaPrivateKey): nodeCrypto.KeyObject {
  return nodeCrypto.createPublicKey({ key: { kty: "RSA", n: toBase64Url(key.n), e: toBase64Url(key.e) }, format: "jwk" });
}

/** Applies the public-key operation without padding: the inverse of {@link rsaRaw}. */
function publicRaw(key: RsaPrivateKey, block: Uint8Array): Uint8Array {
  return new Uint8Array(nodeCrypto.publicEncrypt({ key: publicKeyOf(key), padding: nodeCrypto.constants.RSA_NO_PADDING }, block));
}

/** EMSA-PKCS1-v1_5 block as OpenSC builds it on the host before sending SIGNATURE algorithm 20. */
function pkcs1Block(k: number, digestInfo: Uint8Array): Uint8Array {
  const block = new Uint8Array(k).fill(0xff);
  block[0] = 0x00;
  block[1] = 0x01;
  block[k - digestInfo.length - 1] = 0x00;
  block.set(digestInfo, k - digestInfo.length);
  return block;
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** DER SEQUENCE of INTEGERs, written here so that no library can repair the values. */
function derSequence(values: bigint[]): Uint8Array {
  const body = values.flatMap((value) => {
    let hex = value.toString(16);
    if (hex.length % 2 === 1) hex = "0" + hex;
    if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = "00" + hex;
    const content = [...Buffer.from(hex, "hex")];
    return [0x02, ...derLength(content.length), ...content];
  });
  return Uint8Array.from([0x30, ...derLength(body.length), ...body]);
}

async function statusWordOf(action: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await action();
  } catch (error) {
    if (error instanceof CardError) return error.sw;
    throw error;
  }
  return undefined;
}

const ENGINES: [string, RsaOperations][] = [
  ["libcrypto", createRsaOperations(openLibcryptoRsaEngine())],
  ["node:crypto", createRsaOperations(nodeRsaEngine)],
];

describe.each(ENGINES)("%s engine", (_engine, rsa) => {
  const { decodeRsaPrivateKey, generateRsaKey, rsaDecrypt, rsaPkcs1Sign, rsaPssSign, rsaRaw } = rsa;

  let rsa1024: RsaPrivateKey;
  let rsa2048: RsaPrivateKey;

  beforeAll(async () => {
    [rsa1024, rsa2048] = await Promise.all([generateRsaKey(1024), generateRsaKey(2048)]);
  });

  describe("RSA key generation", () => {
    it("generates 1024- and 2048-bit keys", () => {
      expect(rsa1024.n.toString(2).length).toBe(1024);
      expect(rsa2048.n.toString(2).length).toBe(2048);
      expect(rsa2048.e).toBe(65537n);
      expect(rsa2048.p * rsa2048.q).toBe(rsa2048.n);
      expect(rsaModulusBytes(rsa1024)).toBe(128);
      expect(rsaModulusBytes(rsa2048)).toBe(256);
    });

    it("generates 3072- and 4096-bit keys", async () => {
      const [rsa3072, rsa4096] = await Promise.all([generateRsaKey(3072), generateRsaKey(4096)]);
      expect(rsa3072.n.toString(2).length).toBe(3072);
      expect(rsa4096.n.toString(2).length).toBe(4096);
      const block = pkcs1Block(512, encodeDigestInfo("SHA-256", hash("SHA-256", message)));
      const signature = await rsaRaw(rsa4096, block);
      expect(nodeCrypto.verify("sha256", message, publicKeyOf(rsa4096), signature)).toBe(true);
    }, 30_000);

    it.each([512, 1000, 1028, 4104, 8192, 2048.5])("rejects %s bits with 67 00", async (bits) => {
      expect(await statusWordOf(() => generateRsaKey(bits))).toBe(0x6700);
    });
  });

  describe("RSA raw private-key operation", () => {
    it("signs an OpenSC-padded block that node:crypto verifies", async () => {
      for (const key of [rsa1024, rsa2048]) {
        const k = rsaModulusBytes(key);
        for (const name of HASH_NAMES) {
          const block = pkcs1Block(k, encodeDigestInfo(name, hash(name, message)));
          const signature = await rsaRaw(key, block);
          expect(signature.length).toBe(k);
          expect(nodeCrypto.verify(NODE_HASH[name], message, publicKeyOf(key), signature), `${k * 8} ${name}`).toBe(true);
        }
      }
    });

    it("inverts the public-key operation", async () => {
      const block = nodeCrypto.randomBytes(256);
      block[0] &= 0x7f;
      const result = await rsaRaw(rsa2048, block);
      expect(publicRaw(rsa2048, result)).toEqual(new Uint8Array(block));
    });

    it("keeps leading zero bytes", async () => {
      const expected = new Uint8Array(nodeCrypto.randomBytes(256));
      expected[0] = 0;
      expected[1] = 0;
      const input = publicRaw(rsa2048, expected);
      const result = await rsaRaw(rsa2048, input);
      expect(result.length).toBe(256);
      expect(result).toEqual(expected);
    });

    it("zero-pads a short block on the right", async () => {
      const block = new Uint8Array(nodeCrypto.randomBytes(100));
      block[0] &= 0x7f;
      const padded = new Uint8Array(256);
      padded.set(block);
      expect(await rsaRaw(rsa2048, block)).toEqual(await rsaRaw(rsa2048, padded));
    });

    it("rejects a block not below n with 64 00", async () => {
      const k = rsaModulusBytes(rsa2048);
      const modulus = Buffer.from(rsa2048.n.toString(16).padStart(2 * k, "0"), "hex");
      expect(await statusWordOf(() => rsaRaw(rsa2048, new Uint8Array(modulus)))).toBe(0x6400);
      expect(await statusWordOf(() => rsaRaw(rsa2048, new Uint8Array(k).fill(0xff)))).toBe(0x6400);
    });

    it("rejects empty and oversized blocks with 67 00", async () => {
      expect(await statusWordOf(() => rsaRaw(rsa2048, new Uint8Array(0)))).toBe(0x6700);
      expect(await statusWordOf(() => rsaRaw(rsa2048, new Uint8Array(257)))).toBe(0x6700);
    });
  });

  describe("RSA PKCS#1 v1.5 signature from a DigestInfo", () => {
    it.each(HASH_NAMES)("signs a %s DigestInfo", async (name) => {
      for (const key of [rsa1024, rsa2048]) {
        const signature = await rsaPkcs1Sign(key, encodeDigestInfo(name, hash(name, message)));
        expect(signature.length).toBe(rsaModulusBytes(key));
        expect(nodeCrypto.verify(NODE_HASH[name], message, publicKeyOf(key), signature)).toBe(true);
      }
    });

    it("matches the raw operation on the padded block", async () => {
      const digestInfo = encodeDigestInfo("SHA-256", hash("SHA-256", message));
      expect(await rsaPkcs1Sign(rsa2048, digestInfo)).toEqual(await rsaRaw(rsa2048, pkcs1Block(256, digestInfo)));
    });

    it("rejects a DigestInfo longer than k − 11 with 67 00", async () => {
      expect(await statusWordOf(() => rsaPkcs1Sign(rsa1024, new Uint8Array(118)))).toBe(0x6700);
      expect(await statusWordOf(() => rsaPkcs1Sign(rsa1024, new Uint8Array(0)))).toBe(0x6700);
    });
  });

  describe("RSA-PSS signature from a digest", () => {
    it.each(HASH_NAMES)("signs %s with salt = hash length", async (name) => {
      const signature = await rsaPssSign(rsa2048, name, hash(name, message));
      const verifier = {
        key: publicKeyOf(rsa2048),
        padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: hashLength(name),
      };
      expect(signature.length).toBe(256);
      expect(nodeCrypto.verify(NODE_HASH[name], message, verifier, signature)).toBe(true);
      expect(nodeCrypto.verify(NODE_HASH[name], message, { ...verifier, saltLength: hashLength(name) + 1 }, signature)).toBe(false);
    });

    it("uses k − hLen − 2 salt on small keys", async () => {
      const signature = await rsaPssSign(rsa1024, "SHA-512", hash("SHA-512", message));
      const verifier = { key: publicKeyOf(rsa1024), padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING };
      expect(nodeCrypto.verify("sha512", message, { ...verifier, saltLength: 62 }, signature)).toBe(true);
      expect(nodeCrypto.verify("sha512", message, { ...verifier, saltLength: 64 }, signature)).toBe(false);
    });

    it("honours an explicit salt length", async () => {
      const signature = await rsaPssSign(rsa2048, "SHA-256", hash("SHA-256", message), 0);
      const verifier = { key: publicKeyOf(rsa2048), padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 };
      expect(nodeCrypto.verify("sha256", message, verifier, signature)).toBe(true);
    });

    it("rejects a digest of the wrong length with 67 00", async () => {
      expect(await statusWordOf(() => rsaPssSign(rsa2048, "SHA-256", new Uint8Array(20)))).toBe(0x6700);
    });

    it("rejects a salt that does not fit with 67 00", async () => {
      expect(await statusWordOf(() => rsaPssSign(rsa1024, "SHA-512", hash("SHA-512", message), 63))).toBe(0x6700);
      expect(await statusWordOf(() => rsaPssSign(rsa1024, "SHA-256", hash("SHA-256", message), -1))).toBe(0x6700);
    });
  });

  describe("RSA decryption", () => {
    const plaintext = new TextEncoder().encode("a 32-byte AES key would go here");

    it("decrypts PKCS#1 v1.5 ciphertext from node:crypto", async () => {
      for (const key of [rsa1024, rsa2048]) {
        const ciphertext = nodeCrypto.publicEncrypt({ key: publicKeyOf(key), padding: nodeCrypto.constants.RSA_PKCS1_PADDING }, plaintext);
        expect(await rsaDecrypt(key, "pkcs1", ciphertext)).toEqual(plaintext);
      }
    });

    it.each(HASH_NAMES)("decrypts OAEP with %s", async (name) => {
      const ciphertext = nodeCrypto.publicEncrypt(
        { key: publicKeyOf(rsa2048), padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH[name] },
        plaintext,
      );
      expect(await rsaDecrypt(rsa2048, { oaep: name }, ciphertext)).toEqual(plaintext);
    });

    it("decrypts raw ciphertext to all k bytes", async () => {
      const ciphertext = nodeCrypto.publicEncrypt({ key: publicKeyOf(rsa2048), padding: nodeCrypto.constants.RSA_PKCS1_PADDING }, plaintext);
      const block = await rsaDecrypt(rsa2048, "raw", ciphertext);
      expect(block.length).toBe(256);
      expect(block[0]).toBe(0x00);
      expect(block[1]).toBe(0x02);
      expect(block.subarray(256 - plaintext.length)).toEqual(plaintext);
    });

    it("rejects bad PKCS#1 v1.5 padding with 64 00", async () => {
      const notType2 = pkcs1Block(256, plaintext);
      const ciphertext = publicRaw(rsa2048, notType2);
      expect(await statusWordOf(() => rsaDecrypt(rsa2048, "pkcs1", ciphertext))).toBe(0x6400);
    });

    it("rejects OAEP with another hash with 64 00", async () => {
      const ciphertext = nodeCrypto.publicEncrypt(
        { key: publicKeyOf(rsa2048), padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" },
        plaintext,
      );
      expect(await statusWordOf(() => rsaDecrypt(rsa2048, { oaep: "SHA-256" }, ciphertext))).toBe(0x6400);
    });

    it("rejects padded ciphertext of the wrong length with 67 00", async () => {
      expect(await statusWordOf(() => rsaDecrypt(rsa2048, "pkcs1", new Uint8Array(255)))).toBe(0x6700);
      expect(await statusWordOf(() => rsaDecrypt(rsa2048, { oaep: "SHA-256" }, new Uint8Array(257)))).toBe(0x6700);
    });
  });

  describe("RSA key serialization", () => {
    it("round-trips through PKCS#1 DER", async () => {
      for (const key of [rsa1024, rsa2048]) {
        const encoded = encodeRsaPrivateKey(key);
        expect(encoded[0]).toBe(0x30);
        const decoded = decodeRsaPrivateKey(encoded);
        expect(decoded).toEqual(key);
      }
    });

    it("signs with a key rebuilt from its fields", async () => {
      const rebuilt: RsaPrivateKey = { ...rsa2048 };
      const block = pkcs1Block(256, encodeDigestInfo("SHA-384", hash("SHA-384", message)));
      const signature = await rsaRaw(rebuilt, block);
      expect(nodeCrypto.verify("sha384", message, publicKeyOf(rsa2048), signature)).toBe(true);
    });

    it("reads a key written by node:crypto", () => {
      const { privateKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 1024 });
      const der = new Uint8Array(privateKey.export({ format: "der", type: "pkcs1" }));
      const key = decodeRsaPrivateKey(der);
      expect(encodeRsaPrivateKey(key)).toEqual(der);
    });

    it("rejects malformed DER", () => {
      const encoded = encodeRsaPrivateKey(rsa1024);
      expect(() => decodeRsaPrivateKey(encoded.subarray(0, 100))).toThrow(RangeError);
      expect(() => decodeRsaPrivateKey(new Uint8Array([0x30, 0x00]))).toThrow(RangeError);
    });

    it.each([
      ["n", (key: RsaPrivateKey) => ({ ...key, n: key.n + 2n })],
      ["e", (key: RsaPrivateKey) => ({ ...key, e: 3n })],
      ["d", (key: RsaPrivateKey) => ({ ...key, d: key.d + 2n })],
    ] as const)("rejects a key with a wrong %s", (_field, corrupt) => {
      const key = corrupt(rsa1024);
      const der = derSequence([0n, key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qi]);
      expect(() => decodeRsaPrivateKey(der)).toThrow(RangeError);
    });

    it("reads a key it did not write", () => {
      const key = rsa1024;
      const der = derSequence([0n, key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qi]);
      expect(decodeRsaPrivateKey(der)).toEqual(key);
    });
  });
});

describe("RSA engines compared", () => {
  it("agree on raw and PKCS#1 v1.5 results", async () => {
    const [[, libcrypto], [, node]] = ENGINES;
    const der = encodeRsaPrivateKey(await node.generateRsaKey(2048));
    const onLibcrypto = libcrypto.decodeRsaPrivateKey(der);
    const onNode = node.decodeRsaPrivateKey(der);

    const block = new Uint8Array(nodeCrypto.randomBytes(256));
    block[0] &= 0x7f;
    expect(await libcrypto.rsaRaw(onLibcrypto, block)).toEqual(await node.rsaRaw(onNode, block));

    const digestInfo = encodeDigestInfo("SHA-512", hash("SHA-512", message));
    expect(await libcrypto.rsaPkcs1Sign(onLibcrypto, digestInfo)).toEqual(await node.rsaPkcs1Sign(onNode, digestInfo));
  });
});
