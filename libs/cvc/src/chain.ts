/**
 * Chain validation: from a certificate up to a trust anchor, matching each CAR
 * with the CHR of the next certificate, checking every signature and the
 * effective and expiration dates. An EC key that carries only its point (86)
 * inherits the domain parameters of the nearest certificate above it that has
 * them (the SmartCard-HSM rule), else `options.domain`.
 */

import type { CvCertificate } from "./certificate.ts";
import type { EcDomain } from "./ec-domain.ts";
import { CvcError } from "./errors.ts";
import { verifyCvSignature } from "./verify.ts";

/** Options of verifyChain. */
export interface ChainOptions {
  /** Trusted certificates; the walk stops at the first one whose CHR is a CAR on the path. */
  readonly trustAnchors: readonly CvCertificate[];
  /** Time of the check; CVC dates are whole UTC days and the expiration day is included. */
  readonly now: Date;
  /** Domain parameters for EC keys when no certificate on the path carries them. */
  readonly domain?: EcDomain;
  /** Maximum number of certificates on the path, anchor included (default 8). */
  readonly maxLength?: number;
}

/** Result of a successful verifyChain: the path from the certificate to its anchor. */
export interface ChainVerification {
  readonly path: readonly CvCertificate[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Verifies `certificates[0]` up to a trust anchor, using the other entries of
 * `certificates` (the EF 2F02 order: device ‖ DV ‖ root) as intermediates.
 * Throws CvcError with code issuer-not-found, bad-signature, not-yet-valid or
 * expired naming the certificate at fault.
 */
export async function verifyChain(certificates: readonly CvCertificate[], options: ChainOptions): Promise<ChainVerification> {
  if (certificates.length === 0) throw new CvcError("invalid-argument", "certificates", "empty chain");

  // TODO: check CHAT roles too (an issuer must be a CVCA or DV); only links, signatures and dates are checked.
  const path = buildPath(certificates, options);
  for (const certificate of path) checkDates(certificate, options.now);

  // Walk down from the anchor so that each EC key without parameters inherits those above it.
  const anchor = path[path.length - 1];
  let inherited = domainOf(anchor) ?? options.domain;
  if (anchor.body.car === anchor.body.chr) await expectValid(anchor, anchor, inherited);

  for (let i = path.length - 2; i >= 0; i--) {
    const issuer = path[i + 1];
    inherited = domainOf(issuer) ?? inherited;
    await expectValid(path[i], issuer, inherited);
  }

  return { path };
}

function buildPath(certificates: readonly CvCertificate[], options: ChainOptions): CvCertificate[] {
  const maxLength = options.maxLength ?? 8;
  const path = [certificates[0]];

  for (;;) {
    const current = path[path.length - 1];
    const name = `certificate ${current.body.chr}`;

    const anchor = options.trustAnchors.find((candidate) => candidate.body.chr === current.body.car);
    if (anchor !== undefined) {
      if (anchor !== current && !sameBytes(anchor, current)) path.push(anchor);
      return path;
    }
    if (current.body.car === undefined) throw new CvcError("issuer-not-found", name, "has no CAR, so its issuer cannot be found");
    if (current.body.car === current.body.chr) throw new CvcError("issuer-not-found", name, "is self-signed but not among the trust anchors");

    const issuer = certificates.find((candidate) => candidate.body.chr === current.body.car);
    if (issuer === undefined) throw new CvcError("issuer-not-found", name, `no certificate or trust anchor has CHR ${current.body.car}`);
    if (path.includes(issuer)) throw new CvcError("issuer-not-found", name, "the chain loops back to a certificate already on the path");
    if (path.length >= maxLength) throw new CvcError("issuer-not-found", name, `no trust anchor within ${maxLength} certificates`);
    path.push(issuer);
  }
}

function checkDates(certificate: CvCertificate, now: Date): void {
  const { effectiveDate, expirationDate, chr } = certificate.body;
  const name = `certificate ${chr}`;
  if (effectiveDate !== undefined && now.getTime() < effectiveDate.getTime()) {
    throw new CvcError("not-yet-valid", name, `effective from ${day(effectiveDate)}, checked at ${now.toISOString()}`);
  }
  if (expirationDate !== undefined && now.getTime() >= expirationDate.getTime() + DAY_MS) {
    throw new CvcError("expired", name, `expired at the end of ${day(expirationDate)}, checked at ${now.toISOString()}`);
  }
}

async function expectValid(certificate: CvCertificate, issuer: CvCertificate, domain: EcDomain | undefined): Promise<void> {
  if (!(await verifyCvSignature(certificate, issuer.body.publicKey, { domain }))) {
    throw new CvcError("bad-signature", `certificate ${certificate.body.chr}`, `signature does not verify with the key of ${issuer.body.chr}`);
  }
}

function domainOf(certificate: CvCertificate): EcDomain | undefined {
  const key = certificate.body.publicKey;
  return key.kind === "ec" ? key.domain : undefined;
}

function sameBytes(a: CvCertificate, b: CvCertificate): boolean {
  return a.encoded.length === b.encoded.length && a.encoded.every((byte, i) => byte === b.encoded[i]);
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}
