// BIP/SLIP (INS 4A) and SIGNATURE A0 through the device's transmit: derived public keys and
// signatures checked against @hsmkit/hd-keys deriving from the same seeds on the host side.
import { beforeAll, describe, expect, it } from "vitest";
import { Bip32Node, decodeExtendedKeyBytes, encodeExtendedKey, hash160, parsePath, Slip10Node, Slip21Node } from "@hsmkit/hd-keys";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import { ascii, ecTemplate, extendedFrame, generatedPublicKey, openCard, type Card } from "./keys-fixture.ts";
import bip32Vectors from "../../../libs/hd-keys/test/vectors/bip32.json" with { type: "json" };
import slip10Vectors from "../../../libs/hd-keys/test/vectors/slip10.json" with { type: "json" };

/** BIP32 test vector 1 seed; the spec's firmware tests use it for masters 0 and 4. */
const SEED_16 = fromHex("000102030405060708090a0b0c0d0e0f");
/** SLIP-10 "seed retry for nist256p1" seed: its first I_L is ≥ n. */
const SEED_RETRY = fromHex("a7305bc8df8d0951f0cb224c0e95d7707cbdf2c6ce7e8d481fec69c7ff5e9446");
/** SLIP-21 example seed. */
const SEED_SLIP21 = fromHex(
  "c76c4ac4f4e4a00d6b274d5c39c700bb4a7ddc04fbc6f78e85ca75007b5b495f74a9043eeb77bdd53aa6fc3a0e31462270316fa04b8c19114c8798706cd02ac8",
);

const K1 = 0;
const R1 = 4;
const R1_RETRY = 6;
const SYMMETRIC = 7;

const MESSAGE = ascii("message signed with a derived key");

let card: Card;

beforeAll(async () => {
  card = await openCard();
  await createMaster(0x01, K1, SEED_16);
  await createMaster(0x02, R1, SEED_16);
  await createMaster(0x02, R1_RETRY, SEED_RETRY);
  await createMaster(0x03, SYMMETRIC, SEED_SLIP21);
});

async function createMaster(p1: number, id: number, seed: Uint8Array): Promise<void> {
  const { sw } = await bipSlip(p1, id, seed);
  if (sw !== 0x9000) throw new Error(`master ${id} creation failed with SW ${sw.toString(16)}`);
}

/** Sends `80 4A p1 p2 data` as an extended APDU with Le 0000 (Ne 65536). */
function bipSlip(p1: number, p2: number, data: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  if (data.length === 0) return card.send({ cla: 0x80, ins: 0x4a, p1, p2, ne: 256 });
  return card.sendRaw(extendedFrame(header(0x4a, p1, p2), data, 65536));
}

/** Encodes a path the way pypicohsm does: 02 01 <master id>, then 02 04 <child number> or 04 L <label>. */
function pathTlvs(masterId: number, elements: readonly (number | string)[]): Uint8Array {
  const parts = [encodeTlv(0x02, Uint8Array.of(masterId))];
  for (const element of elements) {
    if (typeof element === "string") parts.push(encodeTlv(0x04, ascii(element)));
    else parts.push(encodeTlv(0x02, Uint8Array.of(element >>> 24, (element >>> 16) & 0xff, (element >>> 8) & 0xff, element & 0xff)));
  }
  return concatBytes(...parts);
}

async function derivePublic(masterId: number, path: string | readonly (number | string)[]): Promise<Uint8Array> {
  const elements = typeof path === "string" ? parsePath(path) : path;
  const { data, sw } = await bipSlip(0x0a, 0x00, pathTlvs(masterId, elements));
  expect(sw.toString(16)).toBe("9000");
  return data;
}

async function loadNode(masterId: number, path: string): Promise<number> {
  return (await bipSlip(0x10, 0x00, pathTlvs(masterId, parsePath(path)))).sw;
}

function signA0(keyId: number, digest: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  return card.sendRaw(extendedFrame(header(0x68, keyId, 0xa0), digest, 512));
}

function header(ins: number, p1: number, p2: number): string {
  return [0x80, ins, p1, p2].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Lower-case hex, as the vectors are written. */
function hexOf(bytes: Uint8Array): string {
  return toHex(bytes).toLowerCase();
}

function sha256d(data: Uint8Array): string {
  return hexOf(sha256(sha256(data)));
}

describe("BIP/SLIP public derivation (P1 0A)", () => {
  it("returns the BIP32 vector-1 xpubs on secp256k1", async () => {
    expect(encodeExtendedKey(decodeExtendedKeyBytes(await derivePublic(K1, "m")))).toBe(
      "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
    );
    expect(encodeExtendedKey(decodeExtendedKeyBytes(await derivePublic(K1, "m/0'")))).toBe(
      "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
    );
  });

  it("matches the lib's BIP32 derivation along a long path", async () => {
    const master = Bip32Node.fromMasterSeed(SEED_16);
    for (const path of ["m/0'/1", "m/0'/1/2'/2/1000000000", "m/44'/0'/0'/0/5"]) {
      const answer = await derivePublic(K1, path);
      expect(answer).toHaveLength(78);
      expect(encodeExtendedKey(decodeExtendedKeyBytes(answer))).toBe(master.derive(path).xpub);
    }
  });

  it("returns the SLIP-10 nist256p1 nodes with the xpub layout", async () => {
    const master = decodeExtendedKeyBytes(await derivePublic(R1, "m"));
    expect(hexOf(master.chainCode)).toBe("beeb672fe4621673f722f38529c07392fecaa61015c80c34f29ce8b41b3cb6ea");
    expect(hexOf(master.key)).toBe("0266874dc6ade47b3ecd096745ca09bcd29638dd52c2c12117b11ed3e458cfa9e8");
    expect(master.version).toBe(0x0488b21e);

    const child = decodeExtendedKeyBytes(await derivePublic(R1, "m/0'"));
    expect(child.depth).toBe(1);
    expect(child.parentFingerprint.toString(16)).toBe("be6105b5");
    expect(child.index).toBe(0x80000000);
    expect(hexOf(child.chainCode)).toBe("3460cea53e6a6bb5fb391eeef3237ffd8724bf0a40e94943c98b83825342ee11");
    expect(hexOf(child.key)).toBe("0384610f5ecffe8fda089363a41f56a5c7ffc1d81b59a612d0d649b2d22355590c");
  });

  it("applies the SLIP-10 retry rules on nist256p1", async () => {
    const child = decodeExtendedKeyBytes(await derivePublic(R1, "m/28578'/33941"));
    expect(child.parentFingerprint.toString(16)).toBe("3e2b7bc6");
    expect(hexOf(child.chainCode)).toBe("9e87fe95031f14736774cd82f25fd885065cb7c358c1edf813c72af535e83071");
    expect(hexOf(child.key)).toBe("0235bfee614c0d5b2cae260000bb1d0d84b270099ad790022c1ae0b2e782efe120");

    const master = decodeExtendedKeyBytes(await derivePublic(R1_RETRY, "m"));
    expect(hexOf(master.chainCode)).toBe("7762f9729fed06121fd13f326884c82f59aa95c57ac492ce8c9654e60efd130c");
    expect(hexOf(master.key)).toBe("0383619fadcde31063d8c5cb00dbfe1713f3e6fa169d8541a798752a1c1ca0cb20");
  });

  it("returns SLIP-21 nodes as hashes of their halves", async () => {
    const master = await derivePublic(SYMMETRIC, []);
    expect(master).toHaveLength(77);
    expect(hexOf(master.subarray(0, 13))).toBe("0488b21e" + "00" + "00000000" + "00000000");
    expect(hexOf(master.subarray(13, 45))).toBe(sha256d(fromHex("8F8C33732530A0417DD446097EDB6F6617D52D627C6DB28581D74D11B385D25A")));
    expect(hexOf(master.subarray(45))).toBe(sha256d(fromHex("dbf12b44133eaab506a740f6565cc117228cbf1dd70635cfa8ddfdc9af734756")));

    const slip = await derivePublic(SYMMETRIC, ["SLIP-0021"]);
    expect(hexOf(slip.subarray(4, 13))).toBe("01" + "0e521cdd" + "00000000");
    expect(hexOf(slip.subarray(45))).toBe(sha256d(fromHex("1d065e3ac1bbe5c7fad32cf2305f7d709dc070d672044a19e610c77cdf33de0d")));

    const encryption = await derivePublic(SYMMETRIC, ["SLIP-0021", "Master encryption key"]);
    expect(hexOf(encryption.subarray(4, 9))).toBe("02" + "4a6e721d");
    expect(hexOf(encryption.subarray(45))).toBe(sha256d(fromHex("ea163130e35bbafdf5ddee97a17b39cef2be4b4f390180d65b54cf05c6a82fde")));

    const authentication = await derivePublic(SYMMETRIC, ["SLIP-0021", "Authentication key"]);
    expect(hexOf(authentication.subarray(45))).toBe(sha256d(fromHex("47194e938ab24cc82bfa25f6486ed54bebe79c40ae2a5a32ea6db294d81861a6")));
  });

  it("derives 255 levels, the deepest the depth byte allows", async () => {
    const path = new Array(255).fill(7);
    const node = decodeExtendedKeyBytes(await derivePublic(R1, path));
    expect(node.depth).toBe(255);
    expect(hexOf(node.key)).toBe(hexOf(Slip10Node.fromMasterSeed("nist256p1", SEED_16).derive(path).publicKey));
  });

  it("creates a master from 64 random bytes without a seed", async () => {
    expect((await bipSlip(0x01, 9, new Uint8Array(0))).sw.toString(16)).toBe("9000");
    const node = decodeExtendedKeyBytes(await derivePublic(9, "m/1"));
    expect(() => secp256k1.Point.fromBytes(node.key)).not.toThrow();
    expect(hexOf(node.key)).not.toBe(hexOf(decodeExtendedKeyBytes(await derivePublic(K1, "m/1")).key));
  });
});

describe("official vectors through the device", () => {
  const SCRATCH = 3;

  for (const vector of bip32Vectors.valid) {
    it(`returns every xpub of BIP32 ${vector.name}`, async () => {
      await createMaster(0x01, SCRATCH, fromHex(vector.seed));
      for (const chain of vector.chains) {
        expect(encodeExtendedKey(decodeExtendedKeyBytes(await derivePublic(SCRATCH, chain.path))), chain.path).toBe(chain.xpub);
      }
    });
  }

  for (const vector of slip10Vectors.vectors.filter((v) => v.curve !== "ed25519")) {
    it(`returns every node of SLIP-10 ${vector.name}`, async () => {
      await createMaster(vector.curve === "secp256k1" ? 0x01 : 0x02, SCRATCH, fromHex(vector.seed));
      for (const chain of vector.chains) {
        const node = decodeExtendedKeyBytes(await derivePublic(SCRATCH, chain.path));
        expect(node.parentFingerprint.toString(16).padStart(8, "0"), chain.path).toBe(chain.fingerprint);
        expect(hexOf(node.chainCode), chain.path).toBe(chain.chainCode);
        expect(hexOf(node.key), chain.path).toBe(chain.publicKey);
      }
    });
  }
});

describe("SIGNATURE A0 with a derived node", () => {
  const digest = sha256(MESSAGE);

  it("signs with a secp256k1 node the lib's BIP32 derivation verifies", async () => {
    const path = "m/44'/0'/0'/0/1";
    expect(await loadNode(K1, path)).toBe(0x9000);
    const { data, sw } = await signA0(0, digest);
    expect(sw.toString(16)).toBe("9000");

    const publicKey = Bip32Node.fromMasterSeed(SEED_16).derive(path).publicKey;
    expect(secp256k1.verify(data, digest, publicKey, { prehash: false, format: "der" })).toBe(true);
    const other = Bip32Node.fromMasterSeed(SEED_16).derive("m/44'/0'/0'/0/2").publicKey;
    expect(secp256k1.verify(data, digest, other, { prehash: false, format: "der" })).toBe(false);
  });

  it("signs with a secp256r1 node the lib's SLIP-10 derivation verifies", async () => {
    const path = "m/0'/1/2'/2/1000000000";
    expect(await loadNode(R1, path)).toBe(0x9000);
    const { data, sw } = await signA0(0, digest);
    expect(sw.toString(16)).toBe("9000");

    const publicKey = Slip10Node.fromMasterSeed("nist256p1", SEED_16).derive(path).publicKey;
    expect(hexOf(publicKey)).toBe("02216cd26d31147f72427a453c443ed2cde8a1e53c9cc44e5ddf739725413fe3f4");
    expect(p256.verify(data, digest, publicKey, { prehash: false, format: "der" })).toBe(true);
  });

  it("consumes the node", async () => {
    expect(await loadNode(K1, "m/1")).toBe(0x9000);
    expect((await signA0(0, digest)).sw.toString(16)).toBe("9000");
    expect((await signA0(0, digest)).sw.toString(16)).toBe("6985");
  });

  it("loses the node on SELECT", async () => {
    expect(await loadNode(K1, "m/1")).toBe(0x9000);
    await card.select();
    await card.login();
    expect((await signA0(0, digest)).sw.toString(16)).toBe("6985");
  });

  it("refuses a SLIP-21 node with 6985", async () => {
    expect((await bipSlip(0x10, 0x00, pathTlvs(SYMMETRIC, ["SLIP-0021"]))).sw.toString(16)).toBe("9000");
    expect((await signA0(0, digest)).sw.toString(16)).toBe("6985");
  });

  it("needs P1 to name an existing key", async () => {
    expect(await loadNode(K1, "m/1")).toBe(0x9000);
    expect((await signA0(0x33, digest)).sw.toString(16)).toBe("6a82");
    expect((await signA0(0, digest)).sw.toString(16)).toBe("6985");
  });

  it("checks and counts down the usage counter of key P1", async () => {
    const keyId = 0x21;
    await generatedPublicKey(card, keyId, ecTemplate("secp256r1"), [encodeTlv(0x90, Uint8Array.of(0, 0, 0, 1))]);

    expect(await loadNode(R1, "m/2")).toBe(0x9000);
    expect((await signA0(keyId, digest)).sw.toString(16)).toBe("9000");
    expect(await loadNode(R1, "m/2")).toBe(0x9000);
    expect((await signA0(keyId, digest)).sw.toString(16)).toBe("6a84");
  });

  it("needs A0 in the algorithm list of key P1", async () => {
    const keyId = 0x22;
    await generatedPublicKey(card, keyId, ecTemplate("secp256r1"), [encodeTlv(0x91, Uint8Array.of(0x70))]);

    expect(await loadNode(R1, "m/2")).toBe(0x9000);
    expect((await signA0(keyId, digest)).sw.toString(16)).toBe("6985");
    expect(await loadNode(R1, "m/2")).toBe(0x9000);
    expect((await signA0(0, digest)).sw.toString(16)).toBe("9000");
  });

  it("rejects an empty digest with 6700", async () => {
    expect(await loadNode(R1, "m/2")).toBe(0x9000);
    expect((await signA0(0, new Uint8Array(0))).sw.toString(16)).toBe("6700");
  });

  it("wipes the node when a later P1 10 fails", async () => {
    expect(await loadNode(K1, "m/1")).toBe(0x9000);
    expect((await bipSlip(0x10, 0x00, pathTlvs(K1, ["label"]))).sw.toString(16)).toBe("6a80");
    expect((await signA0(0, digest)).sw.toString(16)).toBe("6985");
  });
});

describe("BIP/SLIP bad input", () => {
  async function sw(p1: number, p2: number, data: Uint8Array): Promise<string> {
    return (await bipSlip(p1, p2, data)).sw.toString(16);
  }

  it("rejects a seed of the wrong size with 6700 and stores nothing", async () => {
    expect(await sw(0x01, 8, new Uint8Array(15))).toBe("6700");
    expect(await sw(0x02, 8, new Uint8Array(65))).toBe("6700");
    expect(await sw(0x03, 8, new Uint8Array(1))).toBe("6700");
    expect(await sw(0x0a, 0x00, pathTlvs(8, []))).toBe("6a88");
  });

  it("rejects a master id above 9", async () => {
    expect(await sw(0x01, 10, SEED_16)).toBe("6a86");
    expect(await sw(0x0a, 0x00, pathTlvs(10, []))).toBe("6a88");
  });

  it("rejects a missing master with 6A88", async () => {
    expect(await sw(0x0a, 0x00, pathTlvs(5, [1]))).toBe("6a88");
    expect(await sw(0x10, 0x00, pathTlvs(5, [1]))).toBe("6a88");
  });

  it("rejects a path deeper than 255 with 6A80", async () => {
    expect(await sw(0x0a, 0x00, pathTlvs(R1, new Array(256).fill(1)))).toBe("6a80");
  });

  it("rejects a child number that is not 4 bytes (index overflow) with 6A80", async () => {
    const overflow = concatBytes(pathTlvs(K1, []), fromHex("0205 0100000000"));
    expect(await sw(0x0a, 0x00, overflow)).toBe("6a80");
    expect(await sw(0x0a, 0x00, concatBytes(pathTlvs(K1, []), fromHex("0203 000001")))).toBe("6a80");
  });

  it("rejects malformed paths with 6A80", async () => {
    expect(await sw(0x0a, 0x00, fromHex("0401 00"))).toBe("6a80");
    expect(await sw(0x0a, 0x00, fromHex("0202 0000"))).toBe("6a80");
    expect(await sw(0x0a, 0x00, fromHex("020100 0204 0000"))).toBe("6a80");
    expect(await sw(0x0a, 0x00, fromHex("020100 0504 00000001"))).toBe("6a80");
  });

  it("rejects elements that do not fit the master with 6A80", async () => {
    expect(await sw(0x0a, 0x00, pathTlvs(K1, ["label"]))).toBe("6a80");
    expect(await sw(0x0a, 0x00, pathTlvs(SYMMETRIC, [1]))).toBe("6a80");
  });

  it("rejects a derivation without a path with 6700", async () => {
    expect(await sw(0x0a, 0x00, new Uint8Array(0))).toBe("6700");
  });

  it("rejects undefined P1 and P2 values with 6A86", async () => {
    expect(await sw(0x04, 0x00, SEED_16)).toBe("6a86");
    expect(await sw(0x0a, 0x01, pathTlvs(K1, []))).toBe("6a86");
  });

  it("needs user authentication for every function", async () => {
    await card.select();
    expect(await sw(0x01, 3, SEED_16)).toBe("6982");
    expect(await sw(0x0a, 0x00, pathTlvs(K1, []))).toBe("6982");
    expect(await sw(0x10, 0x00, pathTlvs(K1, []))).toBe("6982");
    expect((await signA0(0, sha256(MESSAGE))).sw.toString(16)).toBe("6982");
    await card.login();
  });
});

describe("SLIP-21 lib cross-check", () => {
  it("fingerprints a node by HASH160 of its parent's key", () => {
    const master = Slip21Node.fromMasterSeed(SEED_SLIP21);
    expect(hexOf(hash160(master.key).subarray(0, 4))).toBe("0e521cdd");
  });
});
