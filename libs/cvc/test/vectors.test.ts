/**
 * Real certificates and requests (test/vectors, each file names its source):
 * decode → encode gives the same bytes, the signatures verify, and an altered
 * byte makes decoding or verification fail.
 */

import { toHex } from "@hsmkit/tlv";
import { brainpoolP256r1 } from "@noble/curves/misc.js";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import {
  CvcError,
  decodeAuthenticatedRequest,
  decodeCvCertificate,
  ecCurveName,
  ecDomainFromNoble,
  encodeCertificateBody,
  ID_AT,
  ID_SC_HSM_ROLE,
  type CvcEcPublicKey,
  verifyCvSignature,
  verifyProofOfPossession,
} from "../src/index.ts";
import { loadVector } from "./vectors.ts";

const SELF_SIGNED_ROOTS = ["DESRCACC100001", "ESCVCAHSM00001"];
const ISSUED = ["ESPICOHSMDV00001", "ESPICOHSMDV00002", "ESPICOHSMTRLRA4C", "ESPICOHSMTRZGNP2"];

describe("real certificates", () => {
  for (const name of [...SELF_SIGNED_ROOTS, ...ISSUED]) {
    it(`${name} re-encodes byte for byte`, () => {
      const bytes = loadVector(name);

      const certificate = decodeCvCertificate(bytes);

      expect(certificate.body.chr).toBe(name);
      expect(toHex(certificate.encoded)).toBe(toHex(bytes));
      expect(toHex(encodeCertificateBody(certificate.body))).toBe(toHex(certificate.bodyBytes));
    });
  }

  it("DESRCACC100001 fields", () => {
    const root = decodeCvCertificate(loadVector("DESRCACC100001"));

    expect(root.body.car).toBe("DESRCACC100001");
    expect(root.body.chat?.role).toBe(ID_SC_HSM_ROLE);
    expect(toHex(root.body.chat!.rights)).toBe("C0");
    expect(root.body.effectiveDate?.toISOString()).toBe("2012-11-09T00:00:00.000Z");
    expect(root.body.expirationDate?.toISOString()).toBe("2032-11-08T00:00:00.000Z");
    expect(ecCurveName((root.body.publicKey as CvcEcPublicKey).domain!)).toBe("brainpoolP256r1");
  });

  for (const name of SELF_SIGNED_ROOTS) {
    it(`${name} self-signature verifies`, async () => {
      const root = decodeCvCertificate(loadVector(name));

      expect(await verifyCvSignature(root, root.body.publicKey)).toBe(true);
    });
  }

  it("ESPICOHSMTRLRA4C verifies with its DV on secp256k1", async () => {
    const dv = decodeCvCertificate(loadVector("ESPICOHSMDV00002"));
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRLRA4C"));

    const valid = await verifyCvSignature(device, dv.body.publicKey, { domain: ecDomainFromNoble(secp256k1) });

    expect(valid).toBe(true);
    expect(device.body.chat?.role).toBe(ID_AT);
  });

  it("ESPICOHSMTRZGNP2 verifies with its DV on secp256r1", async () => {
    const dv = decodeCvCertificate(loadVector("ESPICOHSMDV00001"));
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRZGNP2"));

    expect(await verifyCvSignature(device, dv.body.publicKey, { domain: ecDomainFromNoble(p256) })).toBe(true);
  });

  it("wrong curve does not verify", async () => {
    const dv = decodeCvCertificate(loadVector("ESPICOHSMDV00002"));
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRLRA4C"));

    await expect(verifyCvSignature(device, dv.body.publicKey, { domain: ecDomainFromNoble(p256) })).rejects.toThrow(CvcError);
  });

  it("missing issuer domain is named", async () => {
    const dv = decodeCvCertificate(loadVector("ESPICOHSMDV00002"));
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRLRA4C"));

    await expect(verifyCvSignature(device, dv.body.publicKey)).rejects.toThrow(/publicKey.domain: the key carries only its point/);
  });
});

describe("real authenticated requests", () => {
  it("AUT_PUK re-encodes and both signatures verify", async () => {
    const bytes = loadVector("AUT_PUK");
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRZGNP2"));

    const request = decodeAuthenticatedRequest(bytes);

    expect(toHex(request.encoded)).toBe(toHex(bytes));
    expect(request.outerCar).toBe("ESPICOHSMTRZGNP2");
    expect(toHex(encodeCertificateBody(request.request.body))).toBe(toHex(request.request.bodyBytes));
    expect(await verifyProofOfPossession(request)).toBe(true);
    expect(await verifyCvSignature(request, device.body.publicKey, { domain: ecDomainFromNoble(p256) })).toBe(true);
  });

  it("AUT_PUK holds the public key of the published private key", () => {
    const secret = Uint8Array.from(Buffer.from("0A40E11E672C28C558B72C25D93BCF28C08D39AFDD5A1A2FD3BAF7A6B27F0C2E", "hex"));
    const request = decodeAuthenticatedRequest(loadVector("AUT_PUK"));

    const point = (request.request.body.publicKey as CvcEcPublicKey).point;

    expect(toHex(point)).toBe(toHex(brainpoolP256r1.getPublicKey(secret, false)));
  });

  it("KDM group-signer request verifies against its device", async () => {
    const kdm = loadVector("KDM");
    // KDM = 30 { 06 OID, 61 {DV}, 62 {device}, 63 {request}, 54 signature }; slice the 62 and 63 contents.
    const { decodeTlv, children } = await import("@hsmkit/tlv");
    const parts = children(decodeTlv(kdm));
    const device = decodeCvCertificate(parts.find((part) => part.tag === 0x62)!.value);
    const request = decodeAuthenticatedRequest(parts.find((part) => part.tag === 0x63)!.value);

    expect(request.outerCar).toBe(device.body.chr);
    expect(await verifyProofOfPossession(request)).toBe(true);
    expect(await verifyCvSignature(request, device.body.publicKey, { domain: ecDomainFromNoble(secp256k1) })).toBe(true);
  });
});

describe("altered bytes", () => {
  async function rejects(bytes: Uint8Array, verify: (bytes: Uint8Array) => Promise<boolean>): Promise<boolean> {
    try {
      return !(await verify(bytes));
    } catch (error) {
      if (error instanceof CvcError) return true;
      throw error;
    }
  }

  it("every byte of DESRCACC100001 matters", async () => {
    const bytes = loadVector("DESRCACC100001");
    const root = decodeCvCertificate(bytes);
    const verify = async (altered: Uint8Array) => verifyCvSignature(decodeCvCertificate(altered), root.body.publicKey);

    const accepted: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const altered = bytes.slice();
      altered[i] ^= 0x01;
      if (!(await rejects(altered, verify))) accepted.push(i);
    }

    expect(accepted).toEqual([]);
  });

  it("every byte of AUT_PUK's outer part matters", async () => {
    const bytes = loadVector("AUT_PUK");
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRZGNP2"));
    const domain = ecDomainFromNoble(p256);
    const verify = async (altered: Uint8Array) => verifyCvSignature(decodeAuthenticatedRequest(altered), device.body.publicKey, { domain });

    const accepted: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const altered = bytes.slice();
      altered[i] ^= 0x80;
      if (!(await rejects(altered, verify))) accepted.push(i);
    }

    expect(accepted).toEqual([]);
  });
});

