// Known-answer tests of the crypto modules against the published vectors in test/vectors/*.json
// (each file names its source). algo-symmetric.test.ts replays the AES, CMAC and ChaCha20-Poly1305
// vectors through CIPHER SYMMETRIC; the other mechanisms need keys of lengths no card key has.
import { describe, expect, it } from "vitest";
import { fromHex, toHex as upperHex } from "@hsmkit/tlv";
import { aesCcmDecrypt, aesCcmEncrypt, aesCmac, aesDecrypt, aesEncrypt, aesXts, AuthenticationError, type AesMode } from "../src/crypto/aes-modes.ts";
import { curveByName, curveDomain, type CurveName } from "../src/crypto/curves.ts";
import { ecdsaSignDigest, ecPublicPoint } from "../src/crypto/ec.ts";
import { hash, type HashName } from "../src/crypto/hash.ts";
import { chachaPolyDecrypt, chachaPolyEncrypt, hkdf, hmac, pbkdf2, x963Kdf } from "../src/crypto/kdf.ts";
import { eddsaSign, octetAgree, octetPublicKey, type OctetCurveName } from "../src/crypto/octet-curves.ts";
import { loadVectors } from "./algo-fixture.ts";

/** Lower-case hex, as the vector files spell it. */
function toHex(bytes: Uint8Array): string {
  return upperHex(bytes).toLowerCase();
}

interface BlockModeVector { mode: AesMode; key: string; iv: string; plaintext: string; ciphertext: string }
interface GcmVector { key: string; iv: string; aad: string; plaintext: string; ciphertext: string; tag: string }
interface CcmVector { key: string; nonce: string; aad: string; plaintext: string; tagLength: number; output: string }
interface XtsVector { key: string; tweak: string; plaintext: string; ciphertext: string }

const aes = loadVectors<{ blockModes: BlockModeVector[]; gcm: GcmVector[]; ccm: CcmVector[]; xts: XtsVector[] }>("aes-modes.json");

describe("AES modes (SP 800-38A/C/D, IEEE 1619)", () => {
  for (const vector of aes.blockModes) {
    it(`${vector.mode.toUpperCase()}-${vector.key.length * 4} encrypts and decrypts`, () => {
      const request = { mode: vector.mode, key: fromHex(vector.key), iv: fromHex(vector.iv || "00".repeat(16)), input: fromHex(vector.plaintext) };
      expect(toHex(aesEncrypt(request))).toBe(vector.ciphertext);
      expect(toHex(aesDecrypt({ ...request, input: fromHex(vector.ciphertext) }))).toBe(vector.plaintext);
    });
  }

  for (const vector of aes.gcm) {
    it(`GCM-${vector.key.length * 4}`, () => {
      const request = { mode: "gcm" as const, key: fromHex(vector.key), iv: fromHex(vector.iv), aad: fromHex(vector.aad), input: fromHex(vector.plaintext) };
      expect(toHex(aesEncrypt(request))).toBe(vector.ciphertext + vector.tag);
      expect(toHex(aesDecrypt({ ...request, input: fromHex(vector.ciphertext + vector.tag) }))).toBe(vector.plaintext);
    });
  }

  for (const vector of aes.ccm) {
    it(`CCM with a ${vector.tagLength}-byte tag and ${vector.nonce.length / 2}-byte nonce`, () => {
      const [key, nonce, aad] = [fromHex(vector.key), fromHex(vector.nonce), fromHex(vector.aad)];
      expect(toHex(aesCcmEncrypt(key, nonce, aad, fromHex(vector.plaintext), vector.tagLength))).toBe(vector.output);
      expect(toHex(aesCcmDecrypt(key, nonce, aad, fromHex(vector.output), vector.tagLength))).toBe(vector.plaintext);

      const forged = fromHex(vector.output);
      forged[forged.length - 1] ^= 1;
      expect(() => aesCcmDecrypt(key, nonce, aad, forged, vector.tagLength)).toThrow(AuthenticationError);
    });
  }

  aes.xts.forEach((vector, index) => {
    it(`XTS-AES-128 vector ${index + 1}`, () => {
      const [key, tweak] = [fromHex(vector.key), fromHex(vector.tweak)];
      expect(toHex(aesXts(key, tweak, fromHex(vector.plaintext), true))).toBe(vector.ciphertext);
      expect(toHex(aesXts(key, tweak, fromHex(vector.ciphertext), false))).toBe(vector.plaintext);
    });
  });
});

describe("MACs and KDFs", () => {
  const cmac = loadVectors<{ vectors: { key: string; message: string; mac: string }[] }>("cmac.json");
  cmac.vectors.forEach((vector, index) => {
    it(`AES-CMAC example ${index + 1}`, () => {
      expect(toHex(aesCmac(fromHex(vector.key), fromHex(vector.message)))).toBe(vector.mac);
    });
  });

  const hmacs = loadVectors<{ vectors: { hash: HashName; key: string; message: string; mac: string }[] }>("hmac.json");
  for (const vector of hmacs.vectors) {
    it(`HMAC-${vector.hash}`, () => {
      expect(toHex(hmac(vector.hash, fromHex(vector.key), fromHex(vector.message)))).toBe(vector.mac);
    });
  }

  const hkdfs = loadVectors<{ vectors: { hash: HashName; ikm: string; salt: string; info: string; length: number; okm: string }[] }>("hkdf.json");
  hkdfs.vectors.forEach((vector, index) => {
    it(`HKDF case ${index + 1}`, () => {
      expect(toHex(hkdf(vector.hash, fromHex(vector.ikm), fromHex(vector.salt), fromHex(vector.info), vector.length))).toBe(vector.okm);
    });
  });

  const pbkdf2s = loadVectors<{ vectors: { hash: HashName; password: string; salt: string; iterations: number; length: number; derived: string }[] }>("pbkdf2.json");
  for (const vector of pbkdf2s.vectors) {
    it(`PBKDF2-HMAC-${vector.hash}, ${vector.iterations} iterations`, () => {
      expect(toHex(pbkdf2(vector.hash, fromHex(vector.password), fromHex(vector.salt), vector.iterations, vector.length))).toBe(vector.derived);
    });
  }

  const x963 = loadVectors<{ vectors: { hash: HashName; z: string; sharedInfo: string; keyData: string }[] }>("x963-kdf.json");
  for (const vector of x963.vectors) {
    it(`X9.63 KDF with ${vector.hash}, ${vector.keyData.length / 2} bytes`, () => {
      expect(toHex(x963Kdf(vector.hash, fromHex(vector.z), fromHex(vector.sharedInfo), vector.keyData.length / 2))).toBe(vector.keyData);
    });
  }

  const chacha = loadVectors<{ vectors: { key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string }[] }>("chacha20-poly1305.json");
  it("ChaCha20-Poly1305 (RFC 8439 2.8.2)", () => {
    const vector = chacha.vectors[0];
    const [key, nonce, aad] = [fromHex(vector.key), fromHex(vector.nonce), fromHex(vector.aad)];
    expect(toHex(chachaPolyEncrypt(key, nonce, aad, fromHex(vector.plaintext)))).toBe(vector.ciphertext + vector.tag);
    expect(toHex(chachaPolyDecrypt(key, nonce, aad, fromHex(vector.ciphertext + vector.tag)))).toBe(vector.plaintext);
    expect(() => chachaPolyDecrypt(key, nonce, fromHex("00"), fromHex(vector.ciphertext + vector.tag))).toThrow(AuthenticationError);
  });
});

describe("curves", () => {
  const x = loadVectors<{ vectors: { curve: OctetCurveName; alicePrivate: string; alicePublic: string; bobPrivate: string; bobPublic: string; shared: string }[] }>("rfc7748.json");
  for (const vector of x.vectors) {
    it(`${vector.curve} (RFC 7748)`, () => {
      const alice = { curve: vector.curve, secret: fromHex(vector.alicePrivate) };
      const bob = { curve: vector.curve, secret: fromHex(vector.bobPrivate) };
      expect(toHex(octetPublicKey(alice))).toBe(vector.alicePublic);
      expect(toHex(octetPublicKey(bob))).toBe(vector.bobPublic);
      expect(toHex(octetAgree(alice, fromHex(vector.bobPublic)))).toBe(vector.shared);
      expect(toHex(octetAgree(bob, fromHex(vector.alicePublic)))).toBe(vector.shared);
    });
  }

  const ed = loadVectors<{ vectors: { curve: OctetCurveName; secret: string; public: string; message: string; signature: string }[] }>("rfc8032.json");
  ed.vectors.forEach((vector, index) => {
    it(`${vector.curve} signature ${index + 1} (RFC 8032)`, () => {
      const key = { curve: vector.curve, secret: fromHex(vector.secret) };
      expect(toHex(octetPublicKey(key))).toBe(vector.public);
      expect(toHex(eddsaSign(key, fromHex(vector.message)))).toBe(vector.signature);
    });
  });

  const ecdsa = loadVectors<{ vectors: { curve: CurveName; hash: HashName; message: string; d: string; qx: string; qy: string; r: string; s: string }[] }>("ecdsa.json");
  for (const vector of ecdsa.vectors) {
    it(`ECDSA ${vector.curve} key pair and signature (CAVP SigGen)`, () => {
      const key = { curve: vector.curve, d: fromHex(vector.d) };
      const point = "04" + vector.qx + vector.qy;
      expect(toHex(ecPublicPoint(key))).toBe(point);

      const { curve } = curveByName(vector.curve);
      const digest = hash(vector.hash, fromHex(vector.message));
      const published = fromHex(vector.r + vector.s);
      expect(curve.verify(published, digest, fromHex(point), { prehash: false, format: "compact", lowS: false })).toBe(true);

      // The card's nonces are hedged, so its signature differs from the published one but must verify.
      const signature = ecdsaSignDigest(key, digest);
      expect(curve.verify(signature, digest, fromHex(point), { prehash: false, format: "der" })).toBe(true);
      expect(curve.verify(signature, hash("SHA-384", fromHex(vector.message)), fromHex(point), { prehash: false, format: "der" })).toBe(false);
    });
  }

  const brainpool = loadVectors<{ curves: { curve: CurveName; p: string; a: string; b: string; x: string; y: string; q: string }[] }>("rfc5639-brainpool.json");
  for (const vector of brainpool.curves) {
    it(`${vector.curve} domain parameters (RFC 5639)`, () => {
      const domain = curveDomain(vector.curve);
      const f = curveByName(vector.curve).fieldBytes;
      expect(toHex(domain.p).toUpperCase()).toBe(vector.p);
      expect(toHex(domain.a).toUpperCase()).toBe(vector.a);
      expect(toHex(domain.b).toUpperCase()).toBe(vector.b);
      expect(toHex(domain.G.subarray(1, 1 + f)).toUpperCase()).toBe(vector.x);
      expect(toHex(domain.G.subarray(1 + f)).toUpperCase()).toBe(vector.y);
      expect(toHex(domain.n).toUpperCase()).toBe(vector.q);
    });
  }
});
