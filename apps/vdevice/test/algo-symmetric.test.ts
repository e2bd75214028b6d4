// GENERATE SYMMETRIC KEY and CIPHER SYMMETRIC through the device's transmit: the published vectors
// replayed with the vector's key stored on the card, and random keys checked against node:crypto
// and the openssl command line. Bad input gets the spec's status word and changes nothing.
import { execFileSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { concatBytes, encodeTlv, fromHex, toHex as upperHex } from "@hsmkit/tlv";
import type { HashName } from "../src/crypto/hash.ts";
import { cipherData, importAesKey, loadVectors, openAlgoCard, type AlgoCard } from "./algo-fixture.ts";
import { ecTemplate, keyPairData, readFile } from "./keys-fixture.ts";

const INS_GENERATE = 0x48;
const INS_CIPHER = 0x78;
const ENCRYPT = 0x51;
const DECRYPT = 0x52;

const AES_ARC = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
const PKCS = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d];
const MODE_OFFSET: Record<string, number> = { ecb: 1, cbc: 2, ofb: 3, cfb: 4, gcm: 6, ccm: 7, ctr: 9 };
const SIZE_BASE: Record<number, number> = { 16: 0x00, 24: 0x14, 32: 0x28 };
const HMAC_OID: Record<HashName, Uint8Array> = {
  "SHA-1": Uint8Array.of(...PKCS, 0x02, 0x07),
  "SHA-224": Uint8Array.of(...PKCS, 0x02, 0x08),
  "SHA-256": Uint8Array.of(...PKCS, 0x02, 0x09),
  "SHA-384": Uint8Array.of(...PKCS, 0x02, 0x0a),
  "SHA-512": Uint8Array.of(...PKCS, 0x02, 0x0b),
};
const HKDF_OID: Partial<Record<HashName, Uint8Array>> = {
  "SHA-256": Uint8Array.of(...PKCS, 0x01, 0x09, 0x10, 0x03, 0x1d),
  "SHA-384": Uint8Array.of(...PKCS, 0x01, 0x09, 0x10, 0x03, 0x1e),
  "SHA-512": Uint8Array.of(...PKCS, 0x01, 0x09, 0x10, 0x03, 0x1f),
};
const CHACHA_OID = Uint8Array.of(...PKCS, 0x01, 0x09, 0x10, 0x03, 0x12);
const PBKDF2_OID = Uint8Array.of(...PKCS, 0x01, 0x05, 0x0c);
const X963_OID = Uint8Array.of(0x2b, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3f);
const XTS_OID = (keyBytes: number) => Uint8Array.of(0x2b, 0x6f, 0x02, 0x8c, 0x53, 0x00, 0x00, 0x01, keyBytes === 32 ? 0x01 : 0x02);
const NODE_HASH: Record<HashName, string> = { "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
const HASHES: HashName[] = ["SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"];

function toHex(bytes: Uint8Array): string {
  return upperHex(bytes).toLowerCase();
}

function aesOid(mode: string, keyBytes: number): Uint8Array {
  return Uint8Array.of(...AES_ARC, SIZE_BASE[keyBytes] + MODE_OFFSET[mode]);
}

/** Runs the AES-CCM (16-byte tag) or AES-XTS encryption of pyca/cryptography (OpenSSL underneath) on the host. */
function pyca(mode: "ccm" | "xts", args: { key: Uint8Array; nonce: Uint8Array; aad?: Uint8Array; data: Uint8Array }): Uint8Array {
  const script = [
    "import sys, json",
    "from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes",
    "from cryptography.hazmat.primitives.ciphers.aead import AESCCM",
    "a = {k: bytes.fromhex(v) for k, v in json.load(sys.stdin).items()}",
    "if sys.argv[1] == 'ccm': out = AESCCM(a['key'], tag_length=16).encrypt(a['nonce'], a['data'], a['aad'])",
    "else: e = Cipher(algorithms.AES(a['key']), modes.XTS(a['nonce'])).encryptor(); out = e.update(a['data']) + e.finalize()",
    "sys.stdout.write(out.hex())",
  ].join("\n");
  const input = JSON.stringify({ key: toHex(args.key), nonce: toHex(args.nonce), aad: toHex(args.aad ?? new Uint8Array(0)), data: toHex(args.data) });
  return fromHex(execFileSync("python3", ["-c", script, mode], { input }).toString());
}

function openssl(args: string[], input?: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync("openssl", args, { input: input === undefined ? undefined : Buffer.from(input) }));
}

let card: AlgoCard;
let nextId = 1;

/** Stores `key` under a fresh key id and returns the id. */
async function storeKey(key: Uint8Array, metadata?: Uint8Array): Promise<number> {
  const id = nextId++;
  await importAesKey(card, id, key, metadata);
  return id;
}

function cipher(keyId: number, p2: number, data: Uint8Array, ne?: number) {
  return card.command(INS_CIPHER, keyId, p2, data, ne);
}

async function ok(response: Promise<{ data: Uint8Array; sw: number }>): Promise<string> {
  const { data, sw } = await response;
  expect(sw.toString(16)).toBe("9000");
  return toHex(data);
}

beforeAll(async () => {
  card = await openAlgoCard();
});

describe("GENERATE SYMMETRIC KEY", () => {
  for (const [p2, bits] of [[0xb0, 128], [0xb1, 192], [0xb2, 256], [0xb3, 512], [0x00, 256]] as const) {
    it(`P2 ${p2.toString(16).padStart(2, "0")} stores a ${bits}-bit key with its AES PRKD`, async () => {
      const id = nextId++;
      const response = await card.command(INS_GENERATE, id, p2);
      expect(response.sw).toBe(0x9000);
      expect(response.data.length).toBe(0);

      const prkd = await readFile(toCardCompatible(card), 0xc400 | id);
      expect(prkd.sw).toBe(0x9000);
      expect(prkd.content[0]).toBe(0xa8);
      expect(toHex(prkd.content)).toContain(`0202${bits.toString(16).padStart(4, "0")}`);
      expect((await readFile(toCardCompatible(card), 0xce00 | id)).sw).toBe(0x6a82);
    });
  }

  it("refuses key 0 and a session without login", async () => {
    expect((await card.command(INS_GENERATE, 0, 0xb2)).sw).toBe(0x6982);
    await card.select();
    expect((await card.command(INS_GENERATE, 200, 0xb2)).sw).toBe(0x6982);
    await card.login();
  });
});

/** readFile from keys-fixture takes a Card; the algo card offers the same send shape. */
function toCardCompatible(algo: AlgoCard) {
  return {
    send: (command: { cla: number; ins: number; p1: number; p2: number; data?: Uint8Array; ne?: number }) => algo.command(command.ins, command.p1, command.p2, command.data, command.ne ?? 256).then((r) => r),
  } as unknown as Parameters<typeof readFile>[0];
}

interface BlockModeVector { mode: string; key: string; iv: string; plaintext: string; ciphertext: string }
const aesVectors = loadVectors<{
  blockModes: BlockModeVector[];
  gcm: { key: string; iv: string; aad: string; plaintext: string; ciphertext: string; tag: string }[];
  xts: { key: string; tweak: string; plaintext: string; ciphertext: string }[];
}>("aes-modes.json");

describe("CIPHER SYMMETRIC, published vectors through the card", () => {
  for (const vector of aesVectors.blockModes) {
    it(`AES-${vector.key.length * 4}-${vector.mode.toUpperCase()}`, async () => {
      const key = fromHex(vector.key);
      const id = await storeKey(key);
      const iv = vector.iv ? fromHex(vector.iv) : undefined;
      const oid = aesOid(vector.mode, key.length);

      // ECB takes exactly one block per command.
      const blocks = vector.mode === "ecb" ? [0, 1, 2, 3] : [undefined];
      for (const block of blocks) {
        const slice = (hex: string) => (block === undefined ? hex : hex.slice(block * 32, block * 32 + 32));
        expect(await ok(cipher(id, ENCRYPT, cipherData(oid, fromHex(slice(vector.plaintext)), iv)))).toBe(slice(vector.ciphertext));
        expect(await ok(cipher(id, DECRYPT, cipherData(oid, fromHex(slice(vector.ciphertext)), iv)))).toBe(slice(vector.plaintext));
      }
    });
  }

  for (const vector of aesVectors.gcm) {
    it(`AES-${vector.key.length * 4}-GCM`, async () => {
      const id = await storeKey(fromHex(vector.key));
      const oid = aesOid("gcm", vector.key.length / 2);
      expect(await ok(cipher(id, ENCRYPT, cipherData(oid, fromHex(vector.plaintext), fromHex(vector.iv))))).toBe(vector.ciphertext + vector.tag);
      expect(await ok(cipher(id, DECRYPT, cipherData(oid, fromHex(vector.ciphertext + vector.tag), fromHex(vector.iv))))).toBe(vector.plaintext);
    });
  }

  aesVectors.xts.forEach((vector, index) => {
    it(`AES-XTS-128 vector ${index + 1}`, async () => {
      const id = await storeKey(fromHex(vector.key));
      const data = (input: string) => cipherData(XTS_OID(32), fromHex(input), fromHex(vector.tweak));
      expect(await ok(cipher(id, ENCRYPT, data(vector.plaintext)))).toBe(vector.ciphertext);
      expect(await ok(cipher(id, DECRYPT, data(vector.ciphertext)))).toBe(vector.plaintext);
    });
  });

  it("AES-CMAC (18) on SP 800-38B examples", async () => {
    const cmac = loadVectors<{ vectors: { key: string; message: string; mac: string }[] }>("cmac.json");
    for (const vector of cmac.vectors) {
      const id = await storeKey(fromHex(vector.key));
      expect(await ok(cipher(id, 0x18, fromHex(vector.message)))).toBe(vector.mac);
    }
  });

  it("HMAC-SHA-1/2 over the RFC 4231 message match node:crypto", async () => {
    // Card keys are 16, 24, 32 or 64 bytes and the RFC key "Jefe" is 4, so the card's HMAC is checked with a random key.
    const hmacs = loadVectors<{ vectors: { hash: HashName; message: string }[] }>("hmac.json");
    const key = nodeCrypto.randomBytes(32);
    const id = await storeKey(key);
    for (const vector of hmacs.vectors) {
      const expected = nodeCrypto.createHmac(NODE_HASH[vector.hash], key).update(fromHex(vector.message)).digest("hex");
      expect(await ok(cipher(id, ENCRYPT, cipherData(HMAC_OID[vector.hash], fromHex(vector.message))))).toBe(expected);
    }
  });

  it("X9.63 KDF with SHA-1, SHA-256 and SHA-512 matches openssl", async () => {
    // The CAVP vectors use 24-byte Z values, which no card key has; x963-kdf.json runs in algo-vectors.test.ts.
    const key = nodeCrypto.randomBytes(32);
    const id = await storeKey(key);
    const sharedInfo = fromHex("75eef81aa3041e33b80971203d2c0c52");
    for (const hash of ["SHA-1", "SHA-256", "SHA-512"] as HashName[]) {
      const expected = openssl(["kdf", "-binary", "-keylen", "80", "-kdfopt", `digest:${hash.replace("-", "")}`, "-kdfopt", `hexsecret:${toHex(key)}`, "-kdfopt", `hexinfo:${toHex(sharedInfo)}`, "X963KDF"]);
      const data = cipherData(X963_OID, HMAC_OID[hash], undefined, sharedInfo);
      expect(await ok(cipher(id, ENCRYPT, data, 80))).toBe(toHex(expected));
    }
  });

  it("ChaCha20-Poly1305 on RFC 8439 2.8.2", async () => {
    const chacha = loadVectors<{ vectors: { key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string }[] }>("chacha20-poly1305.json");
    const vector = chacha.vectors[0];
    const id = await storeKey(fromHex(vector.key));
    const encrypt = cipherData(CHACHA_OID, fromHex(vector.plaintext), fromHex(vector.nonce), fromHex(vector.aad));
    expect(await ok(cipher(id, ENCRYPT, encrypt))).toBe(vector.ciphertext + vector.tag);
    const decrypt = cipherData(CHACHA_OID, fromHex(vector.ciphertext + vector.tag), fromHex(vector.nonce), fromHex(vector.aad));
    expect(await ok(cipher(id, DECRYPT, decrypt))).toBe(vector.plaintext);
  });
});

describe("CIPHER SYMMETRIC, random keys against node:crypto and openssl", () => {
  const message = nodeCrypto.randomBytes(77);
  const blocks = message.subarray(0, 64);

  for (const keyBytes of [16, 24, 32]) {
    it(`AES-${keyBytes * 8}: ECB, CBC, OFB, CFB, CTR match openssl, GCM WebCrypto, CCM pyca/cryptography`, async () => {
      const key = nodeCrypto.randomBytes(keyBytes);
      const id = await storeKey(key);
      const iv = nodeCrypto.randomBytes(16);
      const aad = nodeCrypto.randomBytes(20);

      for (const mode of ["ecb", "cbc", "ofb", "cfb", "ctr"]) {
        const input = mode === "ecb" ? blocks.subarray(0, 16) : mode === "cbc" ? blocks : message;
        const ivArgs = mode === "ecb" ? [] : ["-iv", toHex(iv)];
        const expected = openssl(["enc", `-aes-${keyBytes * 8}-${mode}`, "-K", toHex(key), ...ivArgs, "-nopad"], input);
        const cardIv = mode === "ecb" ? undefined : iv;
        expect(await ok(cipher(id, ENCRYPT, cipherData(aesOid(mode, keyBytes), input, cardIv)))).toBe(toHex(expected));
        expect(await ok(cipher(id, DECRYPT, cipherData(aesOid(mode, keyBytes), expected, cardIv)))).toBe(toHex(input));
      }

      const gcmIv = iv.subarray(0, 12);
      const webKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: gcmIv, additionalData: aad }, webKey, message));
      expect(await ok(cipher(id, ENCRYPT, cipherData(aesOid("gcm", keyBytes), message, gcmIv, aad)))).toBe(toHex(sealed));
      expect(await ok(cipher(id, DECRYPT, cipherData(aesOid("gcm", keyBytes), sealed, gcmIv, aad)))).toBe(toHex(message));

      const nonce = iv.subarray(0, 13);
      const ccm = pyca("ccm", { key, nonce, aad, data: message });
      expect(await ok(cipher(id, ENCRYPT, cipherData(aesOid("ccm", keyBytes), message, nonce, aad)))).toBe(toHex(ccm));
      expect(await ok(cipher(id, DECRYPT, cipherData(aesOid("ccm", keyBytes), ccm, nonce, aad)))).toBe(toHex(message));
    });
  }

  for (const keyBytes of [32, 64]) {
    it(`AES-XTS with a ${keyBytes}-byte key pair matches pyca/cryptography, with ciphertext stealing`, async () => {
      const key = nodeCrypto.randomBytes(keyBytes);
      const id = await storeKey(key);
      const tweak = nodeCrypto.randomBytes(16);
      const expected = pyca("xts", { key, nonce: tweak, data: message });
      expect(await ok(cipher(id, ENCRYPT, cipherData(XTS_OID(keyBytes), message, tweak)))).toBe(toHex(expected));
      expect(await ok(cipher(id, DECRYPT, cipherData(XTS_OID(keyBytes), expected, tweak)))).toBe(toHex(message));
    });
  }

  it("fixed algorithms 10, 11, 18 and 99 match node:crypto and openssl", async () => {
    const key = nodeCrypto.randomBytes(32);
    const id = await storeKey(key);
    const c = nodeCrypto.createCipheriv("aes-256-cbc", key, Buffer.alloc(16));
    c.setAutoPadding(false);
    const cbc = concatBytes(c.update(blocks), c.final());
    expect(await ok(cipher(id, 0x10, blocks))).toBe(toHex(cbc));
    expect(await ok(cipher(id, 0x11, cbc))).toBe(toHex(blocks));

    const cmac = openssl(["mac", "-binary", "-cipher", "AES-256-CBC", "-macopt", `hexkey:${toHex(key)}`, "-in", "/dev/stdin", "CMAC"], message);
    expect(await ok(cipher(id, 0x18, message))).toBe(toHex(cmac));

    const info = nodeCrypto.randomBytes(40);
    const derived = new Uint8Array(nodeCrypto.hkdfSync("sha256", key, new Uint8Array(0), info, 40));
    expect(await ok(cipher(id, 0x99, info))).toBe(toHex(derived));
  });

  it("HKDF-SHA-256/384/512 and PBKDF2 with each PRF match node:crypto", async () => {
    const key = nodeCrypto.randomBytes(24);
    const id = await storeKey(key);
    const salt = nodeCrypto.randomBytes(16);
    const info = nodeCrypto.randomBytes(10);
    for (const hash of ["SHA-256", "SHA-384", "SHA-512"] as HashName[]) {
      const expected = new Uint8Array(nodeCrypto.hkdfSync(NODE_HASH[hash], key, salt, info, 100));
      expect(await ok(cipher(id, ENCRYPT, cipherData(HKDF_OID[hash]!, info, salt), 100))).toBe(toHex(expected));
    }

    for (const hash of HASHES) {
      const prf = encodeTlv(0x30, [encodeTlv(0x06, HMAC_OID[hash]), Uint8Array.of(0x05, 0x00)]);
      const params = concatBytes(encodeTlv(0x04, salt), encodeTlv(0x02, Uint8Array.of(0x03, 0xe8)), encodeTlv(0x02, Uint8Array.of(48)), prf);
      const expected = nodeCrypto.pbkdf2Sync(key, salt, 1000, 48, NODE_HASH[hash]);
      expect(await ok(cipher(id, ENCRYPT, cipherData(PBKDF2_OID, params)))).toBe(toHex(expected));
    }
  });

  it("PBKDF2 on RFC 6070 with a 16-byte password-key gives node:crypto's answer and defaults to SHA-1, 32 bytes", async () => {
    const key = nodeCrypto.randomBytes(16);
    const id = await storeKey(key);
    const salt = new TextEncoder().encode("salt");
    const params = concatBytes(encodeTlv(0x04, salt), encodeTlv(0x02, Uint8Array.of(2)));
    // Without Le the card keeps the 32 bytes for GET RESPONSE.
    expect((await cipher(id, ENCRYPT, cipherData(PBKDF2_OID, params), 0)).sw).toBe(0x6120);
    expect(await ok(card.getResponse(32))).toBe(toHex(nodeCrypto.pbkdf2Sync(key, salt, 2, 32, "sha1")));
  });

  it("ChaCha20-Poly1305 with a random key matches node:crypto", async () => {
    const key = nodeCrypto.randomBytes(32);
    const id = await storeKey(key);
    const nonce = nodeCrypto.randomBytes(12);
    const aad = nodeCrypto.randomBytes(9);
    const c = nodeCrypto.createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: message.length });
    const expected = concatBytes(c.update(message), c.final(), c.getAuthTag());
    expect(await ok(cipher(id, ENCRYPT, cipherData(CHACHA_OID, message, nonce, aad)))).toBe(toHex(expected));
  });
});

describe("CIPHER SYMMETRIC, HD cipher", () => {
  const HD_OID = Uint8Array.of(0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xa8, 0x78, 0x05, 0x8d, 0x6b);
  const seed = nodeCrypto.randomBytes(32);
  const label = new TextEncoder().encode("hsmkit");

  /** SLIP-21: master = HMAC-SHA512("Symmetric key seed", seed), child = HMAC-SHA512(parent[0..32], 00 ‖ label). */
  function slip21Child(): Buffer {
    const master = nodeCrypto.createHmac("sha512", "Symmetric key seed").update(seed).digest();
    return nodeCrypto.createHmac("sha512", master.subarray(0, 32)).update(concatBytes(Uint8Array.of(0), label)).digest();
  }

  it("AES-256-CBC keyed by the pending SLIP-21 node matches node:crypto, once per loaded node", async () => {
    expect((await card.command(0x4a, 0x03, 9, seed)).sw).toBe(0x9000);
    const path = concatBytes(encodeTlv(0x02, Uint8Array.of(9)), encodeTlv(0x04, label));
    expect((await card.command(0x4a, 0x10, 0x00, path)).sw).toBe(0x9000);

    const aad = new TextEncoder().encode("aadE1");
    const input = nodeCrypto.randomBytes(32);
    const derived = nodeCrypto.createHmac("sha512", slip21Child().subarray(32)).update(aad).digest();
    const c = nodeCrypto.createCipheriv("aes-256-cbc", derived.subarray(0, 32), derived.subarray(32, 48));
    c.setAutoPadding(false);
    const expected = concatBytes(c.update(input), c.final());

    // P1 names no key: the HD cipher ignores it.
    expect(await ok(cipher(0xfe, ENCRYPT, cipherData(HD_OID, input, undefined, aad)))).toBe(toHex(expected));
    expect((await cipher(0xfe, ENCRYPT, cipherData(HD_OID, input, undefined, aad))).sw).toBe(0x6a80);
  });
});

describe("CIPHER SYMMETRIC, bad input and key misuse", () => {
  let aes128: number;
  beforeAll(async () => {
    aes128 = await storeKey(nodeCrypto.randomBytes(16));
  });

  const cases: [string, () => Uint8Array, number, number?][] = [
    ["an IV of 15 bytes for CBC", () => cipherData(aesOid("cbc", 16), new Uint8Array(32), new Uint8Array(15)), 0x6700],
    ["an empty GCM IV", () => cipherData(aesOid("gcm", 16), new Uint8Array(32), new Uint8Array(0)), 0x6700],
    ["a CCM nonce of 14 bytes", () => cipherData(aesOid("ccm", 16), new Uint8Array(32), new Uint8Array(14)), 0x6700],
    ["CBC input of 17 bytes", () => cipherData(aesOid("cbc", 16), new Uint8Array(17)), 0x6400],
    ["ECB input of 32 bytes", () => cipherData(aesOid("ecb", 16), new Uint8Array(32)), 0x6700],
    ["an AES-192 OID on a 128-bit key", () => cipherData(aesOid("cbc", 24), new Uint8Array(16)), 0x6700],
    ["an AES mode byte without a mode (05)", () => cipherData(Uint8Array.of(...AES_ARC, 0x05), new Uint8Array(16)), 0x6700],
    ["a truncated AES OID", () => cipherData(Uint8Array.of(...AES_ARC), new Uint8Array(16)), 0x6700],
    ["no OID", () => encodeTlv(0x81, new Uint8Array(16)), 0x6700],
    ["XTS on a 16-byte key", () => cipherData(XTS_OID(32), new Uint8Array(32)), 0x6700],
    ["ChaCha20-Poly1305 on a 16-byte key", () => cipherData(CHACHA_OID, new Uint8Array(32), new Uint8Array(12)), 0x6700],
  ];
  for (const [what, data, sw] of cases) {
    it(`${what} → ${sw.toString(16).toUpperCase()}`, async () => {
      expect((await cipher(aes128, ENCRYPT, data())).sw).toBe(sw);
    });
  }

  it("GCM and CCM tag mismatches are 6400, ChaCha20-Poly1305's is 6700", async () => {
    const iv = nodeCrypto.randomBytes(12);
    for (const mode of ["gcm", "ccm"]) {
      const sealed = fromHex(await ok(cipher(aes128, ENCRYPT, cipherData(aesOid(mode, 16), message(), iv))));
      sealed[sealed.length - 1] ^= 0x01;
      expect((await cipher(aes128, DECRYPT, cipherData(aesOid(mode, 16), sealed, iv))).sw).toBe(0x6400);
    }
    const chacha = await storeKey(nodeCrypto.randomBytes(32));
    const sealed = fromHex(await ok(cipher(chacha, ENCRYPT, cipherData(CHACHA_OID, message(), iv))));
    sealed[0] ^= 0x01;
    expect((await cipher(chacha, DECRYPT, cipherData(CHACHA_OID, sealed, iv))).sw).toBe(0x6700);
  });

  it("fixed CBC input that is not whole blocks is 6700, an unknown algorithm byte 6B00, a KDF longer than 4076 bytes 6700", async () => {
    expect((await cipher(aes128, 0x10, new Uint8Array(20))).sw).toBe(0x6700);
    expect((await cipher(aes128, 0x53, new Uint8Array(16))).sw).toBe(0x6b00);
    expect((await cipher(aes128, ENCRYPT, cipherData(HKDF_OID["SHA-256"]!, new Uint8Array(4)), 65536)).sw).toBe(0x6700);
    expect((await cipher(aes128, 0x18, new Uint8Array(16))).sw).toBe(0x9000);
  });

  it("a failed operation leaves the usage counter alone", async () => {
    const id = await storeKey(nodeCrypto.randomBytes(16), encodeTlv(0x90, Uint8Array.of(0, 0, 0, 1)));
    expect((await cipher(id, ENCRYPT, cipherData(aesOid("cbc", 16), new Uint8Array(17)))).sw).toBe(0x6400);
    expect((await cipher(id, ENCRYPT, cipherData(aesOid("gcm", 16), new Uint8Array(5), new Uint8Array(2)))).sw).toBe(0x6700);
    expect((await cipher(id, 0x18, new Uint8Array(3))).sw).toBe(0x9000);
    expect((await cipher(id, 0x18, new Uint8Array(3))).sw).toBe(0x6a84);
  });

  it("the allowed-algorithm list is enforced: CMAC on a key allowed only 10 and 11 is 6985", async () => {
    const id = await storeKey(nodeCrypto.randomBytes(16), encodeTlv(0x91, Uint8Array.of(0x10, 0x11)));
    expect((await cipher(id, 0x10, new Uint8Array(16))).sw).toBe(0x9000);
    expect((await cipher(id, 0x18, new Uint8Array(16))).sw).toBe(0x6985);
    expect((await cipher(id, ENCRYPT, cipherData(aesOid("cbc", 16), new Uint8Array(16)))).sw).toBe(0x6985);
  });

  it("an AES key cannot sign, decipher or derive, and an EC key cannot run CIPHER SYMMETRIC", async () => {
    expect((await card.command(0x68, aes128, 0x70, new Uint8Array(32))).sw).toBe(0x6400);
    expect((await card.command(0x68, aes128, 0x20, new Uint8Array(256))).sw).toBe(0x6400);
    expect((await card.command(0x62, aes128, 0x80, new Uint8Array(65))).sw).toBe(0x6984);
    expect((await card.command(0x76, aes128, 250, Uint8Array.of(0x98, 1))).sw).toBe(0x6400);

    const ecId = nextId++;
    expect((await card.command(0x46, ecId, 0x00, keyPairData(ecTemplate("secp256r1")))).sw).toBe(0x9000);
    expect((await cipher(ecId, 0x18, new Uint8Array(16))).sw).toBe(0x6400);
    expect((await cipher(ecId, ENCRYPT, cipherData(aesOid("cbc", 16), new Uint8Array(16)))).sw).toBe(0x6400);
  });

  it("a missing key is 6A82 and key 0 is 6982", async () => {
    expect((await cipher(254, 0x18, new Uint8Array(16))).sw).toBe(0x6a82);
    expect((await cipher(0, 0x18, new Uint8Array(16))).sw).toBe(0x6982);
  });
});

function message(): Uint8Array {
  return nodeCrypto.randomBytes(40);
}
