/**
 * PERFORM SECURITY OPERATION: VERIFY CERTIFICATE (INS 2A, P1 00, P2 BE, also
 * 92 or AE). The data is a CV certificate, the complete 7F21 or its content.
 * The device checks its signature with the key of the trust-store certificate
 * that MSE SET DST selected. It then stores the certificate in the first free
 * CA n with a PKCS#15 certificate description in C8 n, so that later MSE SET
 * DST and PSO commands can use it as an issuer.
 *
 * Status words, in the order checked: P1 or P2 wrong → 6A86; no data → 6700;
 * no issuer selected → 6A88; certificate malformed, or curve not found up the
 * CAR links → 6984; CAR other than the selected issuer's CHR, or a bad
 * signature → 6985; trust store full → 6A84. Validity dates are not checked,
 * as on the firmware, because certificates issued for PUK registration are
 * often short-lived test certificates.
 */
import { CardError, SW } from "@hsmkit/apdu";
import { CvcError, decodeCvCertificate, verifyCvSignature, type CvCertificate, type CvcPublicKey } from "@hsmkit/cvc";
import { encodeTlv } from "@hsmkit/tlv";
import { sha1 } from "@noble/hashes/legacy.js";
import { findByChr, freeCaFid, inheritedDomain, loadTrustStore, type TrustEntry } from "../attestation/trust-store.ts";
import { fidOf, PREFIX } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler } from "../hsm/context.ts";

const P2_VERIFY_CERTIFICATE = new Set([0x92, 0xae, 0xbe]);

/** Largest trust store, 2F02 certificates included. The firmware stops at 4; a PUK registration alone needs 2 beside the device's 3. */
export const MAX_TRUST_STORE_ENTRIES = 16;

export const performSecurityOperation: CommandHandler = async (ctx) => {
  const { p1, p2, data } = ctx.apdu;
  if (p1 !== 0x00 || !P2_VERIFY_CERTIFICATE.has(p2)) throw new CardError(SW.INCORRECT_P1P2, `PSO: P1 P2 ${hex(p1)} ${hex(p2)} is not VERIFY CERTIFICATE (00 92, 00 AE or 00 BE)`);
  if (data.length === 0) throw new CardError(SW.WRONG_LENGTH, "PSO VERIFY CERTIFICATE: no certificate in the command data");

  const issuerChr = ctx.session.verificationIssuer;
  if (issuerChr === undefined) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, "PSO VERIFY CERTIFICATE: select the issuer with MSE SET DST first");

  const store = await loadTrustStore(ctx.objects);
  const issuer = findByChr(store, issuerChr);
  if (issuer === undefined) throw new CardError(SW.REFERENCED_DATA_NOT_FOUND, `PSO VERIFY CERTIFICATE: issuer ${issuerChr} is no longer in the trust store`);

  const certificate = decodeCertificate(data);
  await checkSignature(store, certificate, issuer);

  const known = store.find((entry) => sameBytes(entry.certificate.encoded, certificate.encoded));
  if (known !== undefined) return;

  await storeCertificate(ctx, store, certificate);
};

function decodeCertificate(data: Uint8Array): CvCertificate {
  try {
    return decodeCvCertificate(data);
  } catch (error) {
    if (error instanceof CvcError) throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `PSO VERIFY CERTIFICATE: malformed certificate (${error.message})`);
    throw error;
  }
}

async function checkSignature(store: TrustEntry[], certificate: CvCertificate, issuer: TrustEntry): Promise<void> {
  const issuerChr = issuer.certificate.body.chr;
  if (certificate.body.car !== issuerChr) {
    throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `PSO VERIFY CERTIFICATE: CAR ${certificate.body.car ?? "(none)"} does not name the selected issuer ${issuerChr}`);
  }

  const domain = inheritedDomain(store, issuer.certificate);
  if (issuer.certificate.body.publicKey.kind === "ec" && domain === undefined) {
    throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `PSO VERIFY CERTIFICATE: no certificate up from ${issuerChr} carries the curve parameters`);
  }

  let valid: boolean;
  try {
    valid = await verifyCvSignature(certificate, issuer.certificate.body.publicKey, { domain });
  } catch (error) {
    if (error instanceof CvcError) throw new CardError(SW.REFERENCE_DATA_NOT_USABLE, `PSO VERIFY CERTIFICATE: ${error.message}`);
    throw error;
  }
  if (!valid) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, `PSO VERIFY CERTIFICATE: the signature of ${certificate.body.chr} does not verify with the key of ${issuerChr}`);
}

async function storeCertificate(ctx: CommandContext, store: TrustEntry[], certificate: CvCertificate): Promise<void> {
  const fid = store.length >= MAX_TRUST_STORE_ENTRIES ? undefined : await freeCaFid(ctx.objects);
  if (fid === undefined) throw new CardError(SW.NOT_ENOUGH_MEMORY, `PSO VERIFY CERTIFICATE: the trust store is full (${store.length} certificates)`);

  await ctx.objects.writeFile(fid, certificate.encoded);
  await ctx.objects.writeFile(fidOf(PREFIX.CD, fid & 0xff), certificateDescription(certificate, fid));
  ctx.log.info("CA certificate stored", { chr: certificate.body.chr, fid: fid.toString(16).toUpperCase() });
}

/**
 * Returns the PKCS#15 certificate description of CA n:
 * 30 { 30 { 0C <CHR>, 03 02 06 40 }, 30 { 04 14 <SHA-1 of the key value> }, A1 { 30 { 30 { 04 02 <fid> } } } }.
 */
function certificateDescription(certificate: CvCertificate, fid: number): Uint8Array {
  const label = new TextEncoder().encode(certificate.body.chr);
  return encodeTlv(0x30, [
    encodeTlv(0x30, [encodeTlv(0x0c, label), encodeTlv(0x03, Uint8Array.of(0x06, 0x40))]),
    encodeTlv(0x30, encodeTlv(0x04, sha1(keyValue(certificate.body.publicKey)))),
    encodeTlv(0xa1, encodeTlv(0x30, encodeTlv(0x30, encodeTlv(0x04, Uint8Array.of(fid >> 8, fid & 0xff))))),
  ]);
}

/** Returns the key value the description's iD hashes: the RSA modulus, the EC x-coordinate, or the raw Montgomery/Edwards key. */
function keyValue(key: CvcPublicKey): Uint8Array {
  if (key.kind === "rsa") return key.modulus;
  if (key.kind === "ec") return key.point[0] === 0x04 ? key.point.subarray(1, 1 + (key.point.length - 1) / 2) : key.point.subarray(1);
  return key.publicKey;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
