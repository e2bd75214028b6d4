// Every curve and RSA size through the device's transmit: key generation, ECDSA (pre-hashed and
// with each on-card hash) and EdDSA checked by the openssl command line, ECDH and X25519/X448
// against openssl-made peer keys, RSA signatures and OAEP checked by node:crypto, and DERIVE
// ASYMMETRIC KEY checked against @noble/curves' point arithmetic.
import { execFileSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeAuthenticatedRequest, encodeOid, ID_TA_ECDSA_SHA_256, type CvcPublicKey } from "@hsmkit/cvc";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, encodeTlv, fromHex, toHex as upperHex } from "@hsmkit/tlv";
import { curveByName, SUPPORTED_CURVES, type CurveName } from "../src/crypto/curves.ts";
import { hash, HASH_NAMES, type HashName } from "../src/crypto/hash.ts";
import type { OctetCurveName } from "../src/crypto/octet-curves.ts";
import { openAlgoCard, type AlgoCard } from "./algo-fixture.ts";
import { ecTemplate, fixedBytes, keyPairData, rsaTemplate } from "./keys-fixture.ts";

const OPENSSL_CURVE: Record<CurveName, string> = {
  secp192r1: "prime192v1",
  secp256r1: "prime256v1",
  secp384r1: "secp384r1",
  secp521r1: "secp521r1",
  secp192k1: "secp192k1",
  secp256k1: "secp256k1",
  brainpoolP256r1: "brainpoolP256r1",
  brainpoolP384r1: "brainpoolP384r1",
  brainpoolP512r1: "brainpoolP512r1",
};
const OCTET_OID: Record<OctetCurveName, string> = { x25519: "2b656e", x448: "2b656f", ed25519: "2b6570", ed448: "2b6571" };
const NODE_HASH: Record<HashName, string> = { "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
const MESSAGE = new TextEncoder().encode("every algorithm the seed lists, through the device\n");

function toHex(bytes: Uint8Array): string {
  return upperHex(bytes).toLowerCase();
}

let card: AlgoCard;
let work: string;
let nextId = 1;

beforeAll(async () => {
  card = await openAlgoCard();
  work = mkdtempSync(join(tmpdir(), "algo-asym-"));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function openssl(args: string[]): Uint8Array {
  return new Uint8Array(execFileSync("openssl", args, { cwd: work, stdio: ["ignore", "pipe", "pipe"] }));
}

/** Writes `bytes` to a fresh file in the work directory and returns its name. */
let fileCount = 0;
function file(bytes: Uint8Array): string {
  const name = join(work, `f${fileCount++}`);
  writeFileSync(name, bytes);
  return name;
}

async function generate(template: Uint8Array, extra: Uint8Array[] = []): Promise<{ id: number; publicKey: CvcPublicKey; request: Uint8Array }> {
  const id = nextId++;
  const { data, sw } = await card.command(0x46, id, 0x00, keyPairData(template, extra));
  expect(sw.toString(16)).toBe("9000");
  return { id, publicKey: decodeAuthenticatedRequest(data).request.body.publicKey, request: data };
}

/** DER SubjectPublicKeyInfo of an EC point on `curve`. */
function ecSpki(curve: CurveName, point: Uint8Array): Uint8Array {
  const algorithm = encodeTlv(0x30, [encodeTlv(0x06, encodeOid("1.2.840.10045.2.1")), encodeTlv(0x06, encodeOid(curveByName(curve).oid))]);
  return encodeTlv(0x30, [algorithm, encodeTlv(0x03, concatBytes(Uint8Array.of(0), point))]);
}

function octetSpki(curve: OctetCurveName, publicKey: Uint8Array): Uint8Array {
  return encodeTlv(0x30, [encodeTlv(0x30, encodeTlv(0x06, fromHex(OCTET_OID[curve]))), encodeTlv(0x03, concatBytes(Uint8Array.of(0), publicKey))]);
}

/** True when openssl accepts `signature` over `input` (a digest for ECDSA, the message for EdDSA with `raw`). */
function opensslVerifies(spki: Uint8Array, input: Uint8Array, signature: Uint8Array, raw = false): boolean {
  const args = ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", file(spki), "-in", file(input), "-sigfile", file(signature)];
  try {
    return new TextDecoder().decode(openssl(raw ? [...args, "-rawin"] : args)).includes("Verified Successfully");
  } catch {
    return false;
  }
}

/** Makes a peer key with openssl; returns its PEM file and raw public key (point or u / encoded key). */
function opensslPeer(genArgs: string[], publicLength: number): { pem: string; publicKey: Uint8Array } {
  const pem = join(work, `peer${fileCount++}.pem`);
  openssl(["genpkey", ...genArgs, "-out", pem]);
  const spki = openssl(["pkey", "-in", pem, "-pubout", "-outform", "DER"]);
  return { pem, publicKey: spki.subarray(spki.length - publicLength) };
}

function opensslDerive(peerPem: string, cardSpki: Uint8Array): Uint8Array {
  return openssl(["pkeyutl", "-derive", "-inkey", peerPem, "-peerkey", file(cardSpki), "-peerform", "DER"]);
}

describe("EC keys on every curve", () => {
  for (const curve of SUPPORTED_CURVES) {
    it(`${curve}: keygen, ECDSA 70–75 verified by openssl, ECDH equal to openssl's`, async () => {
      const { id, publicKey } = await generate(ecTemplate(curve));
      if (publicKey.kind !== "ec") throw new Error("not an EC key");
      const spki = ecSpki(curve, publicKey.point);

      const digest = hash("SHA-256", MESSAGE);
      const raw = await card.command(0x68, id, 0x70, digest, 512);
      expect(raw.sw).toBe(0x9000);
      expect(opensslVerifies(spki, digest, raw.data)).toBe(true);
      expect(opensslVerifies(spki, hash("SHA-384", MESSAGE), raw.data)).toBe(false);

      for (const [index, name] of HASH_NAMES.entries()) {
        const signed = await card.command(0x68, id, 0x71 + index, MESSAGE, 512);
        expect(signed.sw).toBe(0x9000);
        expect(opensslVerifies(spki, hash(name, MESSAGE), signed.data), `${curve} with ${name}`).toBe(true);
      }

      const { fieldBytes } = curveByName(curve);
      const peer = opensslPeer(["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${OPENSSL_CURVE[curve]}`], 1 + 2 * fieldBytes);
      const agreed = await card.command(0x62, id, 0x80, peer.publicKey, 512);
      expect(agreed.sw).toBe(0x9000);
      expect(agreed.data[0]).toBe(0x04);
      expect(toHex(agreed.data.subarray(1))).toBe(toHex(opensslDerive(peer.pem, spki)));
    });
  }

  it("empty ECDSA digest is 6700, counter kept", async () => {
    const { id } = await generate(ecTemplate("secp256r1"), [encodeTlv(0x90, Uint8Array.of(0, 0, 0, 1))]);
    expect((await card.command(0x68, id, 0x70, new Uint8Array(0), 512)).sw).toBe(0x6700);
    expect((await card.command(0x68, id, 0x70, hash("SHA-512", MESSAGE), 512)).sw).toBe(0x9000);
    expect((await card.command(0x68, id, 0x70, hash("SHA-512", MESSAGE), 512)).sw).toBe(0x6a84);
  });

  it("allowed-algorithm list on EC and RSA keys", async () => {
    const ec = await generate(ecTemplate("secp256r1"), [encodeTlv(0x91, Uint8Array.of(0x73))]);
    expect((await card.command(0x68, ec.id, 0x73, MESSAGE, 512)).sw).toBe(0x9000);
    expect((await card.command(0x68, ec.id, 0x75, MESSAGE, 512)).sw).toBe(0x6985);
    expect((await card.command(0x62, ec.id, 0x80, new Uint8Array(65), 512)).sw).toBe(0x6985);

    const rsa = await generate(rsaTemplate(1024), [encodeTlv(0x91, Uint8Array.of(0x23))]);
    expect((await card.command(0x68, rsa.id, 0x33, MESSAGE, 512)).sw).toBe(0x6985);
    expect((await card.command(0x62, rsa.id, 0x21, new Uint8Array(128), 512)).sw).toBe(0x6985);
  });

  it("unknown or RSA algorithm on EC key", async () => {
    const { id } = await generate(ecTemplate("secp384r1"));
    expect((await card.command(0x68, id, 0x76, MESSAGE, 512)).sw).toBe(0x6a86);
    expect((await card.command(0x68, id, 0x35, MESSAGE, 512)).sw).toBe(0x6400);
    expect((await card.command(0x62, id, 0x23, new Uint8Array(48), 512)).sw).toBe(0x6400);
  });
});

/** 7F49 for an octet curve: the id-TA-ECDSA OID, 81 field prime and 83 base point, as pypicohsm sends them. */
function octetTemplate(curve: OctetCurveName): Uint8Array {
  const is25519 = curve === "x25519" || curve === "ed25519";
  const edwards = is25519 ? ed25519 : ed448;
  const width = is25519 ? 32 : 56;
  const generator = curve === "x25519" ? fixedLittle(9, 32) : curve === "x448" ? fixedLittle(5, 56) : edwards.Point.BASE.toBytes();
  return encodeTlv(0x7f49, [
    encodeTlv(0x06, encodeOid(ID_TA_ECDSA_SHA_256)),
    encodeTlv(0x81, fixedBytes(edwards.Point.CURVE().p, width)),
    encodeTlv(0x83, generator),
  ]);
}

function fixedLittle(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = value;
  return out;
}

describe("X25519, X448, Ed25519, Ed448", () => {
  for (const curve of ["x25519", "x448"] as const) {
    it(`${curve}: keygen, ECDH equal to openssl's, no signature`, async () => {
      const { id, publicKey, request } = await generate(octetTemplate(curve));
      expect(publicKey.kind).toBe(curve);
      if (publicKey.kind !== curve) return;

      const inner = decodeAuthenticatedRequest(request).request.signature;
      expect(toHex(inner)).toBe("00".repeat(curve === "x25519" ? 64 : 112));

      const peer = opensslPeer(["-algorithm", curve.toUpperCase()], publicKey.publicKey.length);
      const agreed = await card.command(0x62, id, 0x80, peer.publicKey, 512);
      expect(agreed.sw).toBe(0x9000);
      expect(toHex(agreed.data)).toBe("04" + toHex(opensslDerive(peer.pem, octetSpki(curve, publicKey.publicKey))));

      expect((await card.command(0x68, id, 0x70, MESSAGE, 512)).sw).toBe(0x6400);
      expect((await card.command(0x68, id, 0x73, MESSAGE, 512)).sw).toBe(0x6400);
      expect((await card.command(0x62, id, 0x80, peer.publicKey.subarray(1), 512)).sw).toBe(0x6984);
    });
  }

  for (const curve of ["ed25519", "ed448"] as const) {
    it(`${curve}: keygen with an EdDSA proof of possession, signatures verified by openssl, no ECDH`, async () => {
      const { id, publicKey, request } = await generate(octetTemplate(curve));
      expect(publicKey.kind).toBe(curve);
      if (publicKey.kind !== curve) return;
      const spki = octetSpki(curve, publicKey.publicKey);

      const inner = decodeAuthenticatedRequest(request).request;
      expect(opensslVerifies(spki, sha256(inner.bodyBytes), inner.signature, true)).toBe(true);

      const pure = await card.command(0x68, id, 0x70, MESSAGE, 512);
      expect(pure.sw).toBe(0x9000);
      expect(pure.data.length).toBe(curve === "ed25519" ? 64 : 114);
      expect(opensslVerifies(spki, MESSAGE, pure.data, true)).toBe(true);

      for (const [index, name] of HASH_NAMES.entries()) {
        const signed = await card.command(0x68, id, 0x71 + index, MESSAGE, 512);
        expect(signed.sw).toBe(0x9000);
        expect(opensslVerifies(spki, hash(name, MESSAGE), signed.data, true), `${curve} over ${name}`).toBe(true);
      }

      expect((await card.command(0x62, id, 0x80, new Uint8Array(publicKey.publicKey.length), 512)).sw).toBe(0x6984);
    });
  }

  it("a 25519 template without base point 83 is 6700", async () => {
    const template = encodeTlv(0x7f49, [encodeTlv(0x06, encodeOid(ID_TA_ECDSA_SHA_256)), encodeTlv(0x81, fixedBytes(ed25519.Point.CURVE().p, 32))]);
    expect((await card.command(0x46, nextId++, 0x00, keyPairData(template))).sw).toBe(0x6700);
  });
});

function rsaPublicKey(key: CvcPublicKey): nodeCrypto.KeyObject {
  if (key.kind !== "rsa") throw new Error("not an RSA key");
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  return nodeCrypto.createPublicKey({ key: { kty: "RSA", n: b64(key.modulus), e: b64(key.exponent) }, format: "jwk" });
}

describe("RSA sizes", () => {
  for (const bits of [1024, 2048, 3072, 4096]) {
    it(`RSA-${bits}: keygen, PKCS#1 v1.5 and PSS with each hash, raw, OAEP and PKCS#1 decryption`, async () => {
      const { id, publicKey } = await generate(rsaTemplate(bits));
      const key = rsaPublicKey(publicKey);
      const k = bits / 8;
      expect(key.asymmetricKeyDetails?.modulusLength).toBe(bits);

      for (const [index, name] of HASH_NAMES.entries()) {
        const pkcs1 = await card.command(0x68, id, 0x31 + index, MESSAGE, 512);
        expect(pkcs1.data.length).toBe(k);
        expect(nodeCrypto.verify(NODE_HASH[name], MESSAGE, key, pkcs1.data), `PKCS#1 ${name}`).toBe(true);

        const pss = await card.command(0x68, id, 0x41 + index, MESSAGE, 512);
        const options = { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeCrypto.constants.RSA_PSS_SALTLEN_AUTO };
        expect(nodeCrypto.verify(NODE_HASH[name], MESSAGE, options, pss.data), `PSS ${name}`).toBe(true);
      }

      const secret = nodeCrypto.randomBytes(32);
      const oaep = nodeCrypto.publicEncrypt({ key, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, secret);
      expect(toHex((await card.command(0x62, id, 0x23, oaep, 512)).data)).toBe(toHex(secret));
      const pkcs1 = nodeCrypto.publicEncrypt({ key, padding: nodeCrypto.constants.RSA_PKCS1_PADDING }, secret);
      expect(toHex((await card.command(0x62, id, 0x22, pkcs1, 512)).data)).toBe(toHex(secret));
      const raw = await card.command(0x62, id, 0x21, pkcs1, 512);
      expect(raw.data.length).toBe(k);
      expect(toHex(raw.data.subarray(k - 32))).toBe(toHex(secret));
    });
  }
});

describe("DERIVE ASYMMETRIC KEY", () => {
  for (const curve of ["secp256r1", "brainpoolP384r1", "secp256k1"] as CurveName[]) {
    it(`${curve}: d' = d + s mod n, checked by signing with the derived key`, async () => {
      const { id, publicKey } = await generate(ecTemplate(curve));
      if (publicKey.kind !== "ec") throw new Error("not an EC key");
      const info = curveByName(curve);
      const n = info.curve.Point.CURVE().n;

      // A scalar larger than n: the sum is reduced modulo the order.
      const scalar = n + 12345678901234567890n;
      const destination = nextId++;
      const scalarBytes = fixedBytes(scalar, info.orderBytes + 1);
      const derived = await card.command(0x76, id, destination, concatBytes(Uint8Array.of(0x98), scalarBytes));
      expect(derived.sw).toBe(0x9000);
      expect(derived.data.length).toBe(0);

      const expectedPoint = info.curve.Point.fromBytes(publicKey.point).add(info.curve.Point.BASE.multiply(scalar % n)).toBytes(false);
      const digest = hash("SHA-256", MESSAGE);
      const signed = await card.command(0x68, destination, 0x70, digest, 512);
      expect(signed.sw).toBe(0x9000);
      expect(opensslVerifies(ecSpki(curve, expectedPoint), digest, signed.data)).toBe(true);
    });
  }

  it("bad input: 6700 for empty data or a first byte other than 98, 6985 without 98 in the list, 6400 for EdDSA, 6982 for key 0", async () => {
    const { id } = await generate(ecTemplate("secp256r1"));
    expect((await card.command(0x76, id, 200, new Uint8Array(0))).sw).toBe(0x6700);
    expect((await card.command(0x76, id, 200, Uint8Array.of(0x97, 1))).sw).toBe(0x6700);
    expect((await card.command(0x76, id, 0, Uint8Array.of(0x98, 1))).sw).toBe(0x6982);
    expect((await card.command(0x68, 200, 0x70, new Uint8Array(32), 512)).sw).toBe(0x6a82);

    const limited = await generate(ecTemplate("secp256r1"), [encodeTlv(0x91, Uint8Array.of(0x70))]);
    expect((await card.command(0x76, limited.id, 200, Uint8Array.of(0x98, 1))).sw).toBe(0x6985);

    const edwards = await generate(octetTemplate("ed25519"));
    expect((await card.command(0x76, edwards.id, 200, Uint8Array.of(0x98, 1))).sw).toBe(0x6400);
  });
});

