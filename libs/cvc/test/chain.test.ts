import { toHex } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import {
  CvcError,
  type CvcPublicKey,
  decodeCvCertificate,
  decodeCvcChain,
  describeCvc,
  decodeAuthenticatedRequest,
  ecDomainFromNoble,
  ecdsaSigner,
  ID_AT,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  verifyChain,
} from "../src/index.ts";
import { loadVector } from "./vectors.ts";

const IN_2025 = new Date(Date.UTC(2025, 6, 1));
/** Inside the validity of both ESPICOHSMTRLRA4C (2025-11-28..2026-11-28) and ESPICOHSMDV00002 (2025-04-06..2026-04-06). */
const PICO_CHAIN_VALID = new Date(Date.UTC(2026, 0, 1));

describe("decodeCvcChain", () => {
  it("splits EF 2F02 content", () => {
    const bytes = new Uint8Array([...loadVector("ESPICOHSMTRLRA4C"), ...loadVector("ESPICOHSMDV00002")]);

    const chain = decodeCvcChain(bytes);

    expect(chain.map((certificate) => certificate.body.chr)).toEqual(["ESPICOHSMTRLRA4C", "ESPICOHSMDV00002"]);
  });

  it("names the element at fault", () => {
    const bytes = new Uint8Array([...loadVector("ESPICOHSMTRLRA4C"), 0x42, 0x01, 0x41]);

    expect(() => decodeCvcChain(bytes)).toThrow(/chain\[1\]\/7F21: expected tag 7F21, got 42/);
  });
});

describe("verifyChain", () => {
  it("accepts the Pico device and DV on secp256k1", async () => {
    const chain = decodeCvcChain(new Uint8Array([...loadVector("ESPICOHSMTRLRA4C"), ...loadVector("ESPICOHSMDV00002")]));

    const result = await verifyChain(chain, { trustAnchors: [chain[1]], now: PICO_CHAIN_VALID, domain: ecDomainFromNoble(secp256k1) });

    expect(result.path.map((certificate) => certificate.body.chr)).toEqual(["ESPICOHSMTRLRA4C", "ESPICOHSMDV00002"]);
  });

  it("rejects an expired DV certificate", async () => {
    const chain = decodeCvcChain(new Uint8Array([...loadVector("ESPICOHSMTRLRA4C"), ...loadVector("ESPICOHSMDV00002")]));
    const later = new Date(Date.UTC(2026, 3, 7));

    const verify = verifyChain(chain, { trustAnchors: [chain[1]], now: later, domain: ecDomainFromNoble(secp256k1) });

    await expect(verify).rejects.toMatchObject({ code: "expired", field: "certificate ESPICOHSMDV00002" });
  });

  it("accepts the last day of validity", async () => {
    const chain = decodeCvcChain(new Uint8Array([...loadVector("ESPICOHSMTRLRA4C"), ...loadVector("ESPICOHSMDV00002")]));
    const lastDay = new Date(Date.UTC(2026, 3, 6, 23, 59));

    const result = await verifyChain(chain, { trustAnchors: [chain[1]], now: lastDay, domain: ecDomainFromNoble(secp256k1) });

    expect(result.path).toHaveLength(2);
  });

  it("rejects a certificate not yet valid", async () => {
    const chain = decodeCvcChain(new Uint8Array([...loadVector("ESPICOHSMTRLRA4C"), ...loadVector("ESPICOHSMDV00002")]));
    const early = new Date(Date.UTC(2024, 0, 1));

    await expect(verifyChain(chain, { trustAnchors: [chain[1]], now: early, domain: ecDomainFromNoble(secp256k1) })).rejects.toMatchObject({ code: "not-yet-valid" });
  });

  it("names a missing issuer", async () => {
    const device = decodeCvCertificate(loadVector("ESPICOHSMTRLRA4C"));
    const unrelated = decodeCvCertificate(loadVector("DESRCACC100001"));

    const verify = verifyChain([device], { trustAnchors: [unrelated], now: IN_2025 });

    await expect(verify).rejects.toThrow(/certificate ESPICOHSMTRLRA4C: no certificate or trust anchor has CHR ESPICOHSMDV00002/);
  });

  it("inherits the domain from a self-signed root", async () => {
    const root = await makeCertificate("ZZROOT00001", "ZZROOT00001", true);
    const dv = await makeCertificate("ZZDV000001", "ZZROOT00001", false, root.secret);
    const device = await makeCertificate("ZZDEV00001", "ZZDV000001", false, dv.secret);

    const result = await verifyChain([device.certificate, dv.certificate], { trustAnchors: [root.certificate], now: IN_2025 });

    expect(result.path).toHaveLength(3);
  });

  it("rejects a forged root with the anchor's name", async () => {
    const root = await makeCertificate("ZZROOT00001", "ZZROOT00001", true);
    const forged = await makeCertificate("ZZROOT00001", "ZZROOT00001", true);
    const device = await makeCertificate("ZZDEV00001", "ZZROOT00001", false, forged.secret);

    const verify = verifyChain([device.certificate], { trustAnchors: [root.certificate], now: IN_2025 });

    await expect(verify).rejects.toMatchObject({ code: "bad-signature", field: "certificate ZZDEV00001" });
  });

  it("rejects a self-signed certificate that is not an anchor", async () => {
    const root = await makeCertificate("ZZROOT00001", "ZZROOT00001", true);

    await expect(verifyChain([root.certificate], { trustAnchors: [], now: IN_2025 })).rejects.toBeInstanceOf(CvcError);
  });
});

describe("describeCvc", () => {
  it("prints a certificate", () => {
    const text = describeCvc(decodeCvCertificate(loadVector("DESRCACC100001"))).toString();

    expect(text).toContain("CV certificate");
    expect(text).toContain("EC brainpoolP256r1, id-TA-ECDSA-SHA-256");
    expect(text).toContain("id-SC-HSM-role CVCA, rights C0");
    expect(text).toContain("expires     2032-11-08");
  });

  it("serialises an authenticated request to JSON", () => {
    const json = JSON.parse(JSON.stringify(describeCvc(decodeAuthenticatedRequest(loadVector("AUT_PUK")))));

    expect(json.type).toBe("authenticated request");
    expect(json.CHR).toBe("ESPICOHSMTRZGNP2");
    expect(json["outer CAR"]).toBe("ESPICOHSMTRZGNP2");
  });
});

/** Makes a P-256 certificate for `chr`, signed by `issuerSecret` (or self-signed); the root carries the domain, the others only 86. */
async function makeCertificate(chr: string, car: string, withDomain: boolean, issuerSecret?: Uint8Array) {
  const secret = p256.utils.randomSecretKey();
  const publicKey: CvcPublicKey = {
    kind: "ec",
    oid: ID_TA_ECDSA_SHA_256,
    ...(withDomain && { domain: ecDomainFromNoble(p256) }),
    point: p256.getPublicKey(secret, false),
  };
  const bytes = await signCertificate(
    {
      car,
      publicKey,
      chr,
      chat: { role: ID_AT, rights: Uint8Array.of(0x00) },
      effectiveDate: new Date(Date.UTC(2025, 0, 1)),
      expirationDate: new Date(Date.UTC(2025, 11, 31)),
    },
    ecdsaSigner(p256, issuerSecret ?? secret),
  );
  return { secret, certificate: decodeCvCertificate(bytes), hex: toHex(bytes) };
}
