/**
 * The local issuer of device certificates: a root CVCA key and a document
 * verifier (DV) key on secp256r1, with their CV certificates. It mirrors the
 * Pico HSM PKI, so clients that check reference formats accept the chain:
 *
 *   root  CHR ESPICOHSMCA<5>, self-signed, CHAT id-AT C0 00 00 00 04 (CVCA)
 *   DV    CHR ESPICOHSMDV<5>, CAR = root CHR, CHAT id-AT 80 00 00 00 04 (DV)
 *   device CHR ESPICOHSMTR<5>, CAR = DV CHR, CHAT id-AT 00 (terminal)
 *
 * The 5-character sequence numbers of the root and DV come from random bytes,
 * so two issuers do not share references, and no reference equals one of the
 * Pico PKI's (which use decimal digits). Every key carries the full secp256r1
 * domain parameters, as OpenSC finds curves by their prime.
 */
import {
  decodeCvCertificate,
  ecDomainFromNoble,
  ecdsaSigner,
  ID_AT,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  type Chat,
  type CvCertificate,
  type CvcEcPublicKey,
  DEVICE_CHAT,
} from "@hsmkit/cvc";
import { p256 } from "@noble/curves/nist.js";

/** CHR prefix of the local root (country ES, holder mnemonic PICOHSMCA, as the Pico PKI). */
export const ROOT_CHR_PREFIX = "ESPICOHSMCA";

/** CHR prefix of the local DV. */
export const DV_CHR_PREFIX = "ESPICOHSMDV";

const ROOT_CHAT: Chat = { role: ID_AT, rights: Uint8Array.of(0xc0, 0x00, 0x00, 0x00, 0x04) };
const DV_CHAT: Chat = { role: ID_AT, rights: Uint8Array.of(0x80, 0x00, 0x00, 0x00, 0x04) };

/** Last valid day of every certificate the issuer makes (the firmware's device-certificate expiry). */
export const ISSUER_EXPIRATION_DATE = new Date(Date.UTC(2070, 11, 31));

/** Letters and digits of the random sequence numbers; 0/O and 1/I are left out. */
const SEQUENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/**
 * Stored state of an issuer: the DV private key and both certificates. The root
 * private key signs the two certificates at creation and is then wiped, so a
 * stolen issuer directory cannot mint another DV.
 */
export interface IssuerMaterial {
  readonly rootCertificate: Uint8Array;
  readonly dvKey: Uint8Array;
  readonly dvCertificate: Uint8Array;
}

/** Creates a new root and DV, both effective from `now` (UTC day). */
export async function createIssuerMaterial(random: (length: number) => Uint8Array, now: Date): Promise<IssuerMaterial> {
  const rootKey = p256.utils.randomSecretKey(random(48));
  const dvKey = p256.utils.randomSecretKey(random(48));
  const rootChr = ROOT_CHR_PREFIX + sequenceNumber(random(5));
  const dvChr = DV_CHR_PREFIX + sequenceNumber(random(5));
  const effectiveDate = utcDay(now);

  const rootCertificate = await signCertificate(
    { car: rootChr, publicKey: publicKeyOf(rootKey), chr: rootChr, chat: ROOT_CHAT, effectiveDate, expirationDate: ISSUER_EXPIRATION_DATE },
    ecdsaSigner(p256, rootKey),
  );
  const dvCertificate = await signCertificate(
    { car: rootChr, publicKey: publicKeyOf(dvKey), chr: dvChr, chat: DV_CHAT, effectiveDate, expirationDate: ISSUER_EXPIRATION_DATE },
    ecdsaSigner(p256, rootKey),
  );
  rootKey.fill(0);
  return { rootCertificate, dvKey, dvCertificate };
}

/** Issues device certificates with the DV key of `material`. */
export class DeviceIssuer {
  /** The root CVCA certificate: the trust anchor of every device certificate this issuer makes. */
  readonly root: CvCertificate;
  /** The DV certificate, which signs the device certificates. */
  readonly dv: CvCertificate;
  readonly #dvKey: Uint8Array;

  constructor(material: IssuerMaterial) {
    this.root = decodeCvCertificate(material.rootCertificate);
    this.dv = decodeCvCertificate(material.dvCertificate);
    this.#dvKey = material.dvKey.slice();
  }

  /**
   * Returns the certificate of a device key, effective from `now` (UTC day),
   * signed by the DV. `point` is the uncompressed secp256r1 public key.
   */
  issueDeviceCertificate(point: Uint8Array, chr: string, now: Date): Promise<Uint8Array> {
    return signCertificate(
      { car: this.dv.body.chr, publicKey: ecPublicKey(point), chr, chat: DEVICE_CHAT, effectiveDate: utcDay(now), expirationDate: ISSUER_EXPIRATION_DATE },
      ecdsaSigner(p256, this.#dvKey),
    );
  }

  /** Wipes the DV key held in memory. */
  destroy(): void {
    this.#dvKey.fill(0);
  }
}

function publicKeyOf(privateKey: Uint8Array): CvcEcPublicKey {
  return ecPublicKey(p256.getPublicKey(privateKey, false));
}

function ecPublicKey(point: Uint8Array): CvcEcPublicKey {
  return { kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point };
}

/** Returns 5 characters of SEQUENCE_ALPHABET taken from 5 random bytes. */
function sequenceNumber(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 5), (byte) => SEQUENCE_ALPHABET[byte % SEQUENCE_ALPHABET.length]).join("");
}

function utcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
