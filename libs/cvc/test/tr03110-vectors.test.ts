/**
 * The BSI TR-03110 worked-example certificates (test/vectors, each file names
 * its source): a brainpoolP512r1 chain CVCA → DV → inspection system whose lower
 * certificates inherit the curve, and an RSA-1024 CVCA. They re-encode byte for
 * byte, their signatures verify, and their dates bound the chain.
 */

import { toHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import {
  decodeCvCertificate,
  describeCvc,
  ecCurveName,
  encodeCertificateBody,
  ID_IS,
  verifyChain,
  verifyCvSignature,
  type CvcEcPublicKey,
} from "../src/index.ts";
import { loadVector } from "./vectors.ts";

const NAMES = ["DECVCAAT00001", "DETESTDVDE019", "DETESTATDE019", "DETESTCVCA00003"];

/** A day on which every certificate of the ECDH chain is valid. */
const VALID_DAY = new Date(Date.UTC(2010, 9, 15));

const [cvca, dv, terminal, rsaCvca] = NAMES.map((name) => decodeCvCertificate(loadVector(name)));

describe("TR-03110 worked example", () => {
  for (const name of NAMES) {
    it(`${name} re-encodes byte for byte`, () => {
      const bytes = loadVector(name);
      const certificate = decodeCvCertificate(bytes);

      expect(certificate.body.chr).toBe(name);
      expect(toHex(certificate.encoded)).toBe(toHex(bytes));
      expect(toHex(encodeCertificateBody(certificate.body))).toBe(toHex(certificate.bodyBytes));
    });
  }

  it("CVCA fields", () => {
    expect(ecCurveName((cvca.body.publicKey as CvcEcPublicKey).domain!)).toBe("brainpoolP512r1");
    expect(cvca.body.chat?.role).toBe(ID_IS);
    expect(describeCvc(cvca).toString()).toContain("id-IS CVCA, rights C3");
    expect((dv.body.publicKey as CvcEcPublicKey).domain).toBeUndefined();
  });

  it("CVCA self-signatures verify", async () => {
    expect(await verifyCvSignature(cvca, cvca.body.publicKey)).toBe(true);
    expect(await verifyCvSignature(rsaCvca, rsaCvca.body.publicKey)).toBe(true);
  });

  it("ECDH chain verifies to its CVCA", async () => {
    const { path } = await verifyChain([terminal, dv], { trustAnchors: [cvca], now: VALID_DAY });

    expect(path.map((certificate) => certificate.body.chr)).toEqual(["DETESTATDE019", "DETESTDVDE019", "DECVCAAT00001"]);
  });

  it("ECDH chain has expired", async () => {
    await expect(verifyChain([terminal, dv], { trustAnchors: [cvca], now: new Date(Date.UTC(2010, 10, 1)) })).rejects.toMatchObject({ code: "expired" });
  });

  it("ECDH chain is not yet valid", async () => {
    await expect(verifyChain([terminal, dv], { trustAnchors: [cvca], now: new Date(Date.UTC(2010, 8, 29)) })).rejects.toMatchObject({ code: "not-yet-valid" });
  });

  it("altered bytes fail", async () => {
    const issuers = new Map([
      [cvca, cvca],
      [dv, cvca],
      [terminal, dv],
      [rsaCvca, rsaCvca],
    ]);
    for (const [certificate, issuer] of issuers) {
      const signature = certificate.encoded.slice();
      signature[signature.length - 5] ^= 0x01;

      const altered = decodeCvCertificate(signature);
      const domain = (cvca.body.publicKey as CvcEcPublicKey).domain;
      expect(await verifyCvSignature(altered, issuer.body.publicKey, { domain }), certificate.body.chr).toBe(false);
    }
  });
});
