/**
 * The CV trust store: the certificates in EF 2F02 followed by those PSO VERIFY
 * CERTIFICATE stored in CA 00 … CA FD. MSE SET DST selects an issuer from it by
 * CHR, and PSO checks new certificates against it. EC keys that carry only
 * their point inherit the domain parameters of the nearest certificate up the
 * CAR links that has them.
 */
import { decodeCertificateTlv, type CvCertificate, type EcDomain } from "@hsmkit/cvc";
import { iterateTlvs } from "@hsmkit/tlv";
import { FID, fidOf, PREFIX } from "../hsm/constants.ts";
import type { ObjectStore } from "../hsm/objects.ts";

/** Highest CA n that PSO VERIFY CERTIFICATE may use. */
export const MAX_CA_CERTIFICATE_ID = 0xfd;

/** A certificate of the trust store and the EF it came from. */
export interface TrustEntry {
  readonly certificate: CvCertificate;
  readonly fid: number;
}

/** Reads the trust store. Certificates that do not decode are skipped, as the firmware does. */
export async function loadTrustStore(objects: ObjectStore): Promise<TrustEntry[]> {
  const entries: TrustEntry[] = [];
  const chain = await objects.readFile(FID.EF_DEVICE_CERTIFICATES);
  if (chain !== undefined) entries.push(...decodeEach(chain, FID.EF_DEVICE_CERTIFICATES));

  for (const fid of await objects.listFiles()) {
    if (fid >> 8 !== PREFIX.CA_CERTIFICATE || (fid & 0xff) > MAX_CA_CERTIFICATE_ID) continue;
    const content = await objects.readFile(fid);
    if (content !== undefined) entries.push(...decodeEach(content, fid));
  }
  return entries;
}

/** Returns the entry whose CHR equals `chr` (same length, same bytes), or undefined. */
export function findByChr(entries: readonly TrustEntry[], chr: string): TrustEntry | undefined {
  return entries.find((entry) => entry.certificate.body.chr === chr);
}

/**
 * Returns the EC domain parameters for `certificate`'s key: its own, else those
 * of the first certificate up the CAR links that has them. Returns undefined
 * when the walk ends without parameters (no issuer, or a loop).
 */
export function inheritedDomain(entries: readonly TrustEntry[], certificate: CvCertificate): EcDomain | undefined {
  const seen = new Set<CvCertificate>();
  let current: CvCertificate | undefined = certificate;

  while (current !== undefined && !seen.has(current)) {
    const key = current.body.publicKey;
    if (key.kind === "ec" && key.domain !== undefined) return key.domain;

    seen.add(current);
    const car: string | undefined = current.body.car;
    current = car === undefined || car === current.body.chr ? undefined : findByChr(entries, car)?.certificate;
  }
  return undefined;
}

/** Returns the first free CA n FID, or undefined when CA 00 … CA FD are all used. */
export async function freeCaFid(objects: ObjectStore): Promise<number | undefined> {
  const used = new Set(await objects.listFiles());
  for (let id = 0; id <= MAX_CA_CERTIFICATE_ID; id++) {
    const fid = fidOf(PREFIX.CA_CERTIFICATE, id);
    if (!used.has(fid)) return fid;
  }
  return undefined;
}

function decodeEach(content: Uint8Array, fid: number): TrustEntry[] {
  const entries: TrustEntry[] = [];
  try {
    for (const tlv of iterateTlvs(content)) {
      try {
        entries.push({ certificate: decodeCertificateTlv(tlv), fid });
      } catch {
        // A top-level object that is not a CVC is skipped.
      }
    }
  } catch {
    // A truncated object ends the walk; the certificates before it stay.
  }
  return entries;
}
