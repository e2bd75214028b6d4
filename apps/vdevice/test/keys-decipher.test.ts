// DECIPHER / ECDH through the device's transmit: ciphertexts made by node:crypto's public-key
// side, ECDH results compared with the shared secret the peer computes.
import * as nodeCrypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeOid, ID_KEY_DOMAIN_UID, type CvcEcPublicKey, type CvcPublicKey } from "@hsmkit/cvc";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { concatBytes, encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import { ascii, ecTemplate, extendedFrame, fixedBytes, generatedPublicKey, openCard, rsaTemplate, type Card } from "./keys-fixture.ts";

const EC_P256 = 1;
const RSA_2048 = 2;
const RSA_1024 = 3;
const EC_P384 = 4;
const EC_SECP256K1 = 5;
const LIMITED = 6;

/** A 23-byte plaintext, as long as the one in the recorded OpenSC decryption. */
const PLAINTEXT = ascii("decrypt me, SmartCard!!");

let card: Card;
const publicKeys = new Map<number, CvcPublicKey>();

beforeAll(async () => {
  card = await openCard();
  publicKeys.set(EC_P256, await generatedPublicKey(card, EC_P256, ecTemplate("secp256r1")));
  publicKeys.set(RSA_2048, await generatedPublicKey(card, RSA_2048, rsaTemplate(2048)));
  publicKeys.set(RSA_1024, await generatedPublicKey(card, RSA_1024, rsaTemplate(1024)));
  publicKeys.set(EC_P384, await generatedPublicKey(card, EC_P384, ecTemplate("secp384r1")));
  publicKeys.set(EC_SECP256K1, await generatedPublicKey(card, EC_SECP256K1, ecTemplate("secp256k1")));
});

/** Sends `80 62 kk alg` as OpenSC does: extended Lc and Le 0200. */
function decipher(keyId: number, algorithm: number, data: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  const header = [0x80, 0x62, keyId, algorithm].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return card.sendRaw(extendedFrame(header, data, 512));
}

function rsaKey(keyId: number): { n: bigint; e: bigint; k: number; object: nodeCrypto.KeyObject } {
  const key = publicKeys.get(keyId)!;
  if (key.kind !== "rsa") throw new Error(`key ${keyId} is ${key.kind}`);
  const jwk = { kty: "RSA", n: Buffer.from(key.modulus).toString("base64url"), e: Buffer.from(key.exponent).toString("base64url") };
  return {
    n: toBigInt(key.modulus),
    e: toBigInt(key.exponent),
    k: key.modulus.length,
    object: nodeCrypto.createPublicKey({ key: jwk, format: "jwk" }),
  };
}

function ecKey(keyId: number): CvcEcPublicKey {
  const key = publicKeys.get(keyId)!;
  if (key.kind !== "ec") throw new Error(`key ${keyId} is ${key.kind}`);
  return key;
}

/** Encrypts `block` (k bytes) with the raw public-key operation: block^e mod n. */
function publicRaw(keyId: number, block: Uint8Array): Uint8Array {
  const { n, e, k } = rsaKey(keyId);
  return fixedBytes(modPow(toBigInt(block), e, n), k);
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

function encrypt(keyId: number, padding: number, oaepHash?: string): Uint8Array {
  return new Uint8Array(nodeCrypto.publicEncrypt({ key: rsaKey(keyId).object, padding, oaepHash }, PLAINTEXT));
}

describe("DECIPHER, RSA", () => {
  it("21 returns the whole PKCS#1 block", async () => {
    // OpenSC 0.23 sends CKM_RSA_PKCS decryptions as 21 and removes the padding itself.
    const ciphertext = encrypt(RSA_2048, nodeCrypto.constants.RSA_PKCS1_PADDING);
    const response = await card.sendRaw(extendedFrame("80620221", ciphertext, 512));
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(256);
    expect(toHex(response.data.subarray(0, 2))).toBe("0002");
    expect(response.data[256 - PLAINTEXT.length - 1]).toBe(0x00);
    expect(toHex(response.data.subarray(256 - PLAINTEXT.length))).toBe(toHex(PLAINTEXT));
  });

  it("21 keeps leading zero bytes", async () => {
    const block = new Uint8Array(128);
    block.set(nodeCrypto.randomBytes(120), 8);
    const response = await decipher(RSA_1024, 0x21, publicRaw(RSA_1024, block));
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(toHex(block));
  });

  it("21 zero-pads a short ciphertext on the right", async () => {
    // Find a ciphertext whose last 16 bytes are zero, then send it without them.
    let ciphertext: Uint8Array;
    do {
      ciphertext = new Uint8Array(128);
      ciphertext.set(nodeCrypto.randomBytes(112));
    } while (toBigInt(ciphertext) >= rsaKey(RSA_1024).n);

    const response = await decipher(RSA_1024, 0x21, ciphertext.subarray(0, 112));
    expect(response.sw).toBe(0x9000);
    expect(toHex(publicRaw(RSA_1024, response.data))).toBe(toHex(ciphertext));
  });

  it("22 removes PKCS#1 v1.5 padding", async () => {
    const response = await decipher(RSA_2048, 0x22, encrypt(RSA_2048, nodeCrypto.constants.RSA_PKCS1_PADDING));
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(toHex(PLAINTEXT));
  });

  it("23 decrypts OAEP with SHA-256", async () => {
    const response = await decipher(RSA_2048, 0x23, encrypt(RSA_2048, nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, "sha256"));
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(toHex(PLAINTEXT));
  });

  it("23 on RSA-1024", async () => {
    const response = await decipher(RSA_1024, 0x23, encrypt(RSA_1024, nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, "sha256"));
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(toHex(PLAINTEXT));
  });
});

describe("DECIPHER, ECDH", () => {
  for (const [keyId, namedCurve] of [
    [EC_P256, "prime256v1"],
    [EC_P384, "secp384r1"],
  ] as const) {
    it(`80 on ${namedCurve}`, async () => {
      const peer = nodeCrypto.createECDH(namedCurve);
      const peerPoint = new Uint8Array(peer.generateKeys());
      const expected = new Uint8Array(peer.computeSecret(ecKey(keyId).point));

      const response = await decipher(keyId, 0x80, peerPoint);
      expect(response.sw).toBe(0x9000);
      expect(response.data[0]).toBe(0x04);
      expect(toHex(response.data.subarray(1))).toBe(toHex(expected));
    });
  }

  it("80 on secp256k1", async () => {
    const peerSecret = secp256k1.utils.randomSecretKey();
    const peerPoint = secp256k1.getPublicKey(peerSecret, false);
    const expected = secp256k1.getSharedSecret(peerSecret, ecKey(EC_SECP256K1).point, false).subarray(1, 33);

    const response = await decipher(EC_SECP256K1, 0x80, peerPoint);
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(33);
    expect(toHex(response.data.subarray(1))).toBe(toHex(expected));
  });
});

describe("DECIPHER, rejected", () => {
  async function expectSw(keyId: number, algorithm: number, data: Uint8Array, sw: number): Promise<void> {
    const response = await decipher(keyId, algorithm, data);
    expect(response.sw.toString(16)).toBe(sw.toString(16));
    expect(response.data.length).toBe(0);
  }

  function peerPoint(namedCurve: string): Uint8Array {
    return new Uint8Array(nodeCrypto.createECDH(namedCurve).generateKeys());
  }

  it("undefined P2 with 6B00", async () => {
    for (const algorithm of [0x00, 0x20, 0x24, 0x30, 0x70, 0x81, 0x83]) {
      await expectSw(RSA_2048, algorithm, new Uint8Array(256), 0x6b00);
    }
  });

  it("key 0 with 6982", async () => {
    await expectSw(0, 0x80, peerPoint("prime256v1"), 0x6982);
  });

  it("missing key with 6A82", async () => {
    await expectSw(0x99, 0x21, new Uint8Array(256), 0x6a82);
  });

  it("bad PKCS#1 padding with 6400", async () => {
    const block = new Uint8Array(256);
    block.set(nodeCrypto.randomBytes(200), 56);
    await expectSw(RSA_2048, 0x22, publicRaw(RSA_2048, block), 0x6400);
  });

  it("bad OAEP padding with 6400", async () => {
    await expectSw(RSA_2048, 0x23, encrypt(RSA_2048, nodeCrypto.constants.RSA_PKCS1_PADDING), 0x6400);
  });

  it("ciphertext longer than k with 6700", async () => {
    await expectSw(RSA_2048, 0x21, new Uint8Array(257), 0x6700);
    await expectSw(RSA_2048, 0x22, new Uint8Array(257), 0x6700);
  });

  it("RSA algorithm on EC key with 6400", async () => {
    await expectSw(EC_P256, 0x21, new Uint8Array(32), 0x6400);
    await expectSw(EC_P256, 0x23, new Uint8Array(32), 0x6400);
  });

  it("ECDH on RSA key with 6984", async () => {
    await expectSw(RSA_2048, 0x80, peerPoint("prime256v1"), 0x6984);
  });

  it("bad peer points with 6984", async () => {
    const offCurve = peerPoint("prime256v1");
    offCurve[64] ^= 0x01;
    await expectSw(EC_P256, 0x80, offCurve, 0x6984);

    const compressedPeer = nodeCrypto.createECDH("prime256v1");
    compressedPeer.generateKeys();
    const compressed = new Uint8Array(compressedPeer.getPublicKey(null, "compressed"));
    expect(compressed.length).toBe(33);
    await expectSw(EC_P256, 0x80, compressed, 0x6984);

    await expectSw(EC_P256, 0x80, peerPoint("secp384r1"), 0x6984);
    await expectSw(EC_P256, 0x80, new Uint8Array(), 0x6984);
  });

  it("84 without peer point with 6984", async () => {
    await expectSw(EC_P256, 0x84, encodeTlv(0x7f21, encodeTlv(0x7f4e, encodeTlv(0x5f29, Uint8Array.of(0)))), 0x6984);
  });

  it("84 without key-domain UID with 6700", async () => {
    await expectSw(EC_P256, 0x84, peerCertificate(peerPoint("prime256v1"), []), 0x6700);
  });

  it("84 with unknown key-domain UID with 6A88", async () => {
    const extension = encodeTlv(0x65, encodeTlv(0x73, [encodeTlv(0x06, encodeOid(ID_KEY_DOMAIN_UID)), encodeTlv(0x80, fromHex("0102030405060708"))]));
    await expectSw(EC_P256, 0x84, peerCertificate(peerPoint("prime256v1"), [extension]), 0x6a88);
  });

  it("not logged in with 6982", async () => {
    await card.select();
    try {
      await expectSw(RSA_2048, 0x21, new Uint8Array(256), 0x6982);
    } finally {
      await card.login();
    }
  });
});

/** Builds a CV certificate shell around `point` (7F49/86) with the given extensions, as algorithm 84 reads it. */
function peerCertificate(point: Uint8Array, extensions: Uint8Array[]): Uint8Array {
  const body = encodeTlv(0x7f4e, [
    encodeTlv(0x5f29, Uint8Array.of(0)),
    encodeTlv(0x42, ascii("UTCA00001")),
    encodeTlv(0x7f49, [encodeTlv(0x06, fromHex("04007f00070202020203")), encodeTlv(0x86, point)]),
    encodeTlv(0x5f20, ascii("UTDUMMY00001")),
    ...extensions,
  ]);
  return encodeTlv(0x7f21, [body, encodeTlv(0x5f37, new Uint8Array(64))]);
}

describe("DECIPHER, key metadata", () => {
  it("counter and algorithm list", async () => {
    const metadata = [encodeTlv(0x90, Uint8Array.of(0, 0, 0, 1)), encodeTlv(0x91, Uint8Array.of(0x80))];
    publicKeys.set(LIMITED, await generatedPublicKey(card, LIMITED, ecTemplate("secp256r1"), metadata));
    const peer = nodeCrypto.createECDH("prime256v1");
    const point = new Uint8Array(peer.generateKeys());

    expect((await decipher(LIMITED, 0x84, peerCertificate(point, []))).sw.toString(16)).toBe("6985");

    const offCurve = point.slice();
    offCurve[64] ^= 0x01;
    expect((await decipher(LIMITED, 0x80, offCurve)).sw.toString(16)).toBe("6984");

    const response = await decipher(LIMITED, 0x80, point);
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(toHex(concatBytes(Uint8Array.of(4), peer.computeSecret(ecKey(LIMITED).point))));

    expect((await decipher(LIMITED, 0x80, point)).sw.toString(16)).toBe("6a84");
  });
});
