/**
 * Malformed CVCs, unknown OIDs and impossible dates: each is rejected with a
 * CvcError whose code and field name the fault.
 */

import { encodeTlv, fromHex, toHex } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { CvcError, decodeAuthenticatedRequest, decodeCvCertificate, decodeCvcChain, ecDomainFromNoble, verifyCvSignature } from "../src/index.ts";
import { loadVector } from "./vectors.ts";

function expectCvcError(run: () => unknown, code: string, field?: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CvcError);
  expect((caught as CvcError).code).toBe(code);
  if (field !== undefined) expect((caught as CvcError).field).toMatch(field);
}

/** Replaces the first occurrence of `from` in `bytes` with `to` (same length). */
function patch(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const hex = toHex(bytes).toLowerCase();
  const index = hex.indexOf(from.toLowerCase());
  if (index < 0 || from.length !== to.length) throw new Error(`pattern ${from} not found`);
  return fromHex(hex.slice(0, index) + to + hex.slice(index + to.length));
}

const DEVICE = loadVector("ESPICOHSMTRZGNP2");

describe("malformed input", () => {
  it("rejects empty input", () => {
    expectCvcError(() => decodeCvCertificate(new Uint8Array()), "malformed");
  });

  it("rejects a truncated certificate", () => {
    for (const length of [1, 3, 10, DEVICE.length - 1]) {
      expectCvcError(() => decodeCvCertificate(DEVICE.subarray(0, length)), "malformed");
    }
  });

  it("rejects a wrong outer tag", () => {
    expectCvcError(() => decodeCvCertificate(fromHex("7F220101FF")), "malformed", /7F21/);
  });

  it("rejects data after the signature", () => {
    const inner = decodeCvCertificate(DEVICE);
    const extended = encodeTlv(0x7f21, [inner.bodyBytes, encodeTlv(0x5f37, inner.signature), encodeTlv(0x42, Uint8Array.of(0x41))]);
    expectCvcError(() => decodeCvCertificate(extended), "malformed", /42/);
  });

  it("rejects garbage after a chain", () => {
    const chain = new Uint8Array([...DEVICE, 0x7f]);
    expectCvcError(() => decodeCvcChain(chain), "malformed", /chain/);
  });

  it("rejects an authenticated request without outer signature", () => {
    const request = loadVector("AUT_PUK");
    expectCvcError(() => decodeAuthenticatedRequest(request.subarray(0, request.length - 70)), "malformed");
  });
});

describe("unknown OIDs", () => {
  it("refuses an unknown RSA signature algorithm", async () => {
    // id-TA-RSA-v1-5-SHA-1 (…02 01 01) of the TR-03110 example CVCA becomes the unassigned …02 01 09.
    const bytes = patch(loadVector("DETESTCVCA00003"), "04007f00070202020101", "04007f00070202020109");
    let failure: unknown;
    try {
      const root = decodeCvCertificate(bytes);
      await verifyCvSignature(root, root.body.publicKey);
    } catch (error) {
      failure = error;
    }

    expect(failure).toBeInstanceOf(CvcError);
    expect((failure as CvcError).code).toBe("unsupported");
  });
});

describe("dates", () => {
  it("rejects month 13", () => {
    // Effective date digits of ESPICOHSMTRZGNP2 follow 5F25 06.
    const certificate = decodeCvCertificate(DEVICE);
    const effective = certificate.body.effectiveDate!;
    const digits = [effective.getUTCFullYear() % 100, effective.getUTCMonth() + 1, effective.getUTCDate()]
      .map((value) => String(value).padStart(2, "0"))
      .join("")
      .split("")
      .map((digit) => `0${digit}`)
      .join("");
    const bad = patch(DEVICE, `5f2506${digits}`, `5f2506${digits.slice(0, 4)}0103${digits.slice(8)}`);
    expectCvcError(() => decodeCvCertificate(bad), "malformed", /5F25/);
  });

  it("rejects a body altered in place", async () => {
    const dv = decodeCvCertificate(loadVector("ESPICOHSMDV00001"));
    const certificate = decodeCvCertificate(DEVICE);
    const ascii = (text: string) => toHex(new TextEncoder().encode(text)).toLowerCase();
    const altered = decodeCvCertificate(patch(DEVICE, ascii(certificate.body.chr), ascii("ESPICOHSMTRZGNP3")));
    expect(await verifyCvSignature(altered, dv.body.publicKey, { domain: ecDomainFromNoble(p256) })).toBe(false);
  });
});
