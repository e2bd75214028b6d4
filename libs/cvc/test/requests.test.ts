/**
 * Requests and certificates built the way the virtual device builds them, with
 * sizes pinned to the firmware's responses (recorded with OpenSC 0.23).
 */

import { fromHex, toHex } from "@hsmkit/tlv";
import type { ECDSA } from "@noble/curves/abstract/weierstrass.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { brainpoolP256r1 } from "@noble/curves/misc.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import {
  CvcError,
  type CvcPublicKey,
  decodeAuthenticatedRequest,
  decodeCvCertificate,
  DEVICE_CHAT,
  ecDomainFromNoble,
  ecdsaSigner,
  eddsaSigner,
  encodeAuthenticatedRequest,
  encodeCertificateBody,
  ID_RI_ECDH_SHA_256,
  ID_TA_ECDSA_SHA_256,
  ID_TA_ECDSA_SHA_384,
  ID_TA_RSA_PSS_SHA_256,
  ID_TA_RSA_V1_5_SHA_256,
  keyDomainUidExtension,
  type Signer,
  signCertificate,
  verifyCvSignature,
  verifyProofOfPossession,
  zeroSigner,
} from "../src/index.ts";

const DEVICE_CHR = "ESPICOHSMTR00001";

function ecKey(curve: ECDSA) {
  const secret = curve.utils.randomSecretKey();
  const publicKey: CvcPublicKey = {
    kind: "ec",
    oid: ID_TA_ECDSA_SHA_256,
    domain: ecDomainFromNoble(curve),
    point: curve.getPublicKey(secret, false),
  };
  return { publicKey, signer: ecdsaSigner(curve, secret) };
}

async function rsaKey(name: "RSASSA-PKCS1-v1_5" | "RSA-PSS", oid: string) {
  const pair = (await crypto.subtle.generateKey(
    { name, modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const publicKey: CvcPublicKey = { kind: "rsa", oid, modulus: fromBase64Url(jwk.n!), exponent: fromBase64Url(jwk.e!) };
  const { rsaSigner } = await import("../src/index.ts");
  return { publicKey, signer: rsaSigner(pair.privateKey) };
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** Builds the response of GENERATE ASYMMETRIC KEY PAIR: inner request signed by the new key, outer by the device key. */
async function keyGenerationAnswer(publicKey: CvcPublicKey, signer: Signer, device: { signer: Signer }) {
  const request = await signCertificate({ car: "UTCA00001", publicKey, chr: DEVICE_CHR }, signer);
  return encodeAuthenticatedRequest(request, DEVICE_CHR, device.signer);
}

describe("authenticated request", () => {
  const device = ecKey(p256);

  const curves = [
    ["p256", p256],
    ["p384", p384],
    ["p521", p521],
    ["secp256k1", secp256k1],
    ["brainpoolP256r1", brainpoolP256r1],
  ] as const;

  for (const [name, curve] of curves) {
    it(`with a ${name} key verifies`, async () => {
      const key = ecKey(curve);

      const answer = decodeAuthenticatedRequest(await keyGenerationAnswer(key.publicKey, key.signer, device));

      expect(answer.outerCar).toBe(DEVICE_CHR);
      expect(answer.request.body.car).toBe("UTCA00001");
      expect(await verifyProofOfPossession(answer)).toBe(true);
      expect(await verifyCvSignature(answer, device.publicKey)).toBe(true);
    });
  }

  it("with a P-256 key has the firmware's 490 bytes", async () => {
    const key = ecKey(p256);

    const answer = await keyGenerationAnswer(key.publicKey, key.signer, device);

    expect(answer.length).toBe(490);
    expect(toHex(answer.subarray(0, 4))).toBe("678201E6");
  });

  it("with an RSA-2048 key has the firmware's 676 bytes", async () => {
    const key = await rsaKey("RSASSA-PKCS1-v1_5", ID_TA_RSA_V1_5_SHA_256);

    const answer = await keyGenerationAnswer(key.publicKey, key.signer, device);
    const decoded = decodeAuthenticatedRequest(answer);

    expect(answer.length).toBe(676);
    expect(await verifyProofOfPossession(decoded)).toBe(true);
    expect(await verifyCvSignature(decoded, device.publicKey)).toBe(true);
  });

  it("with an RSA-PSS key verifies", async () => {
    const key = await rsaKey("RSA-PSS", ID_TA_RSA_PSS_SHA_256);

    const decoded = decodeAuthenticatedRequest(await keyGenerationAnswer(key.publicKey, key.signer, device));

    expect(await verifyProofOfPossession(decoded)).toBe(true);
  });

  it("with an Ed25519 key verifies", async () => {
    const secret = ed25519.utils.randomSecretKey();
    const publicKey: CvcPublicKey = { kind: "ed25519", oid: ID_RI_ECDH_SHA_256, publicKey: ed25519.getPublicKey(secret) };

    const decoded = decodeAuthenticatedRequest(await keyGenerationAnswer(publicKey, eddsaSigner(ed25519, secret), device));

    expect(await verifyProofOfPossession(decoded)).toBe(true);
    expect(await verifyCvSignature(decoded, device.publicKey)).toBe(true);
  });

  it("with an X25519 key carries a zero inner signature", async () => {
    const publicKey: CvcPublicKey = { kind: "x25519", oid: ID_RI_ECDH_SHA_256, publicKey: x25519.getPublicKey(x25519.utils.randomSecretKey()) };

    const decoded = decodeAuthenticatedRequest(await keyGenerationAnswer(publicKey, zeroSigner(64), device));

    expect(toHex(decoded.request.signature)).toBe("00".repeat(64));
    expect(await verifyCvSignature(decoded, device.publicKey)).toBe(true);
    await expect(verifyProofOfPossession(decoded)).rejects.toThrow(/x25519 keys are for key agreement and cannot sign/);
  });

  it("signed by another device does not verify", async () => {
    const key = ecKey(p256);
    const other = ecKey(p256);

    const decoded = decodeAuthenticatedRequest(await keyGenerationAnswer(key.publicKey, key.signer, device));

    expect(await verifyCvSignature(decoded, other.publicKey)).toBe(false);
  });

  it("keeps the key-domain extension", async () => {
    const key = ecKey(p256);
    const uid = p256.getPublicKey(p256.utils.randomSecretKey(), false).subarray(1);
    const body = { car: DEVICE_CHR, publicKey: key.publicKey, chr: DEVICE_CHR, extensions: [keyDomainUidExtension(uid)] };

    const decoded = decodeCvCertificate(await signCertificate(body, key.signer));

    expect(toHex(encodeCertificateBody(body))).toContain("6551734F060B2B0601040181C31F0302028040" + toHex(uid));
    expect(decoded.body.extensions).toEqual([keyDomainUidExtension(uid)]);
  });

  it("decodes the content of 67 as PUK AUTH sends it", async () => {
    const key = ecKey(p256);
    const answer = await keyGenerationAnswer(key.publicKey, key.signer, device);

    const decoded = decodeAuthenticatedRequest(answer.subarray(4));

    expect(toHex(decoded.encoded)).toBe(toHex(answer));
  });

  it("rejects an inner part that is not 7F21", async () => {
    const encode = encodeAuthenticatedRequest(fromHex("7F4E00"), DEVICE_CHR, device.signer);

    await expect(encode).rejects.toThrow(/request: expected a 7F21 data object, got tag 7F4E/);
  });
});

describe("device certificate", () => {
  async function selfSigned(curve: ECDSA) {
    const key = ecKey(curve);
    const bytes = await signCertificate(
      {
        car: DEVICE_CHR,
        publicKey: key.publicKey,
        chr: DEVICE_CHR,
        chat: DEVICE_CHAT,
        effectiveDate: new Date(Date.UTC(2023, 2, 21)),
        expirationDate: new Date(Date.UTC(2070, 11, 31)),
      },
      key.signer,
    );
    return { key, bytes };
  }

  it("on secp256k1 has the firmware's 443 bytes and layout", async () => {
    const { bytes } = await selfSigned(secp256k1);

    const hex = toHex(bytes);

    expect(bytes.length).toBe(443);
    expect(hex.startsWith("7F218201B67F4E82016E5F290100421045535049434F48534D54523030303031")).toBe(true);
    expect(hex).toContain("7F4C0E060904007F0007030102025301005F25060203000302015F2406070001020301");
  });

  it("verifies with its own key", async () => {
    const { key, bytes } = await selfSigned(p256);

    expect(await verifyCvSignature(decodeCvCertificate(bytes), key.publicKey)).toBe(true);
  });

  it("ECDSA signature is r‖s of field length", async () => {
    const { bytes } = await selfSigned(p521);

    expect(decodeCvCertificate(bytes).signature.length).toBe(132);
  });
});

describe("input errors", () => {
  it("name a non-ASCII CHR", () => {
    const key = ecKey(p256);

    expect(() => encodeCertificateBody({ publicKey: key.publicKey, chr: "DEVICE\u00e900001" })).toThrow(CvcError);
    expect(() => encodeCertificateBody({ publicKey: key.publicKey, chr: "DEVICE\u00e900001" })).toThrow(/^chr: character "é" at index 6/);
  });

  it("name a year outside 2000..2099", () => {
    const key = ecKey(p256);
    const encode = () => encodeCertificateBody({ publicKey: key.publicKey, chr: DEVICE_CHR, expirationDate: new Date(Date.UTC(2100, 0, 1)) });

    expect(encode).toThrow(/expirationDate: year 2100 cannot be encoded/);
  });

  it("name an out-of-order body element", () => {
    const body = fromHex("7F210E7F4E095F201045535049435F2901005F370100");

    expect(() => decodeCvCertificate(body)).toThrow(CvcError);
  });

  it("name a bad date digit", async () => {
    const key = ecKey(p256);
    const bytes = await signCertificate({ car: "A", publicKey: key.publicKey, chr: "B", effectiveDate: new Date(Date.UTC(2024, 0, 31)) }, key.signer);
    const hex = toHex(bytes).replace("5F2506020400010301", "5F25060204000103FF");

    expect(() => decodeCvCertificate(fromHex(hex))).toThrow(/7F21\/7F4E\/5F25: byte 5 is 255, not a decimal digit/);
  });

  it("reject SHA-384 ECDSA keys signed with SHA-256", async () => {
    const secret = p384.utils.randomSecretKey();
    const publicKey: CvcPublicKey = { kind: "ec", oid: ID_TA_ECDSA_SHA_384, domain: ecDomainFromNoble(p384), point: p384.getPublicKey(secret, false) };

    const wrongHash = decodeCvCertificate(await signCertificate({ publicKey, chr: "X" }, ecdsaSigner(p384, secret, "SHA-256")));
    const rightHash = decodeCvCertificate(await signCertificate({ publicKey, chr: "X" }, ecdsaSigner(p384, secret, "SHA-384")));

    expect(await verifyProofOfPossession(wrongHash)).toBe(false);
    expect(await verifyProofOfPossession(rightHash)).toBe(true);
  });
});
