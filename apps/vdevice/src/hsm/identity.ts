/**
 * The device identity, created at first start: a secp256r1 device key (key 0)
 * sealed under the device secret, its certificate chain in EF 2F02, its
 * authenticated request in CE00 and its PRKD in C400. All of them survive
 * INITIALIZE; the key is created again only when it or 2F02 is missing, and the
 * CHR is kept.
 *
 * With an issuer (see useIssuer) EF 2F02 contains device certificate ‖ DV
 * certificate ‖ root certificate. Without one it contains the firmware's single
 * self-signed certificate. A device whose 2F02 still holds only its own
 * self-signed certificate gets the issued chain at the next start with an issuer.
 */
import {
  decodeCvcChain,
  DEVICE_CHAT,
  ecDomainFromNoble,
  ecdsaSigner,
  encodeAuthenticatedRequest,
  encodeCertificateBody,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  type CvcEcPublicKey,
} from "@hsmkit/cvc";
import { concatBytes } from "@hsmkit/tlv";
import { p256 } from "@noble/curves/nist.js";
import type { DeviceIssuer } from "../attestation/issuer.ts";
import { FID } from "./constants.ts";
import type { DeviceState, IdentityRecord } from "./device-state.ts";
import type { ObjectStore } from "./objects.ts";
import { deviceKeyPrkd } from "./prkd.ts";

/** CHR prefix of every SmartCard-HSM device certificate; OpenSC shows it as the token serial. */
export const DEVICE_CHR_PREFIX = "ESPICOHSMTR";

/** Validity the firmware writes into the self-signed device certificate. */
const EFFECTIVE_DATE = new Date(Date.UTC(2023, 2, 21));
const EXPIRATION_DATE = new Date(Date.UTC(2070, 11, 31));

const SERIAL_LENGTH = 16;

/** Issuer of each device's certificate, kept apart from DeviceState so that only identity code uses it. */
const issuers = new WeakMap<DeviceState, DeviceIssuer>();

/** Makes `issuer` sign the certificate of `device`'s key whenever the identity is created. */
export function useIssuer(device: DeviceState, issuer: DeviceIssuer): void {
  issuers.set(device, issuer);
}

/**
 * Creates the device identity when it is missing (first start) or when the
 * host deleted EF 2F02. Stages its writes; the caller commits.
 * Returns whether anything was created.
 */
export async function ensureDeviceIdentity(
  objects: ObjectStore,
  device: DeviceState,
  random: (length: number) => Uint8Array,
  now: Date = new Date(),
): Promise<boolean> {
  const issuer = issuers.get(device);
  const complete =
    device.identity !== undefined &&
    (await objects.hasDeviceKey()) &&
    (await objects.fileExists(FID.EF_DEVICE_CERTIFICATES)) &&
    (await objects.fileExists(FID.DEVICE_KEY_REQUEST));
  if (complete) return issuer !== undefined && (await replaceSelfSignedChain(objects, device.identity!, issuer, now));

  const serial = device.identity?.serial ?? random(SERIAL_LENGTH);
  const chr = device.identity?.chr ?? deviceChrFromSerial(serial);

  const privateKey = p256.utils.randomSecretKey(random(48));
  const publicKey = p256.getPublicKey(privateKey, false);
  const signer = ecdsaSigner(p256, privateKey);

  const cvcKey: CvcEcPublicKey = { kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point: publicKey };
  const certificates =
    issuer === undefined
      ? await signCertificate(
          { car: chr, publicKey: cvcKey, chr, chat: DEVICE_CHAT, effectiveDate: EFFECTIVE_DATE, expirationDate: EXPIRATION_DATE },
          signer,
        )
      : await issuedChain(issuer, publicKey, chr, now);
  const innerRequest = await signCertificate(encodeCertificateBody({ car: chr, publicKey: cvcKey, chr }), signer);
  const request = await encodeAuthenticatedRequest(innerRequest, chr, signer);

  await objects.putDeviceKey(privateKey);
  privateKey.fill(0);
  await objects.writeFile(FID.EF_DEVICE_CERTIFICATES, certificates);
  await objects.writeFile(FID.DEVICE_KEY_REQUEST, request);
  await objects.writeFile(FID.DEVICE_KEY_PRKD, deviceKeyPrkd());
  await device.putIdentity({ serial, chr, publicKey });
  return true;
}

/** Returns EF 2F02 content: the device certificate issued now ‖ the DV certificate ‖ the root certificate. */
async function issuedChain(issuer: DeviceIssuer, point: Uint8Array, chr: string, now: Date): Promise<Uint8Array> {
  const certificate = await issuer.issueDeviceCertificate(point, chr, now);
  return concatBytes(certificate, issuer.dv.encoded, issuer.root.encoded);
}

/**
 * Replaces EF 2F02 when it contains exactly the self-signed certificate of this
 * device's key (what devices created before issuers existed have). A chain a
 * host wrote, such as a Pico PKI provisioning, stays. Returns whether 2F02 changed.
 */
async function replaceSelfSignedChain(objects: ObjectStore, identity: IdentityRecord, issuer: DeviceIssuer, now: Date): Promise<boolean> {
  const content = await objects.readFile(FID.EF_DEVICE_CERTIFICATES);
  let chain;
  try {
    chain = decodeCvcChain(content ?? new Uint8Array());
  } catch {
    return false;
  }
  if (chain.length !== 1) return false;

  const [certificate] = chain;
  const key = certificate.body.publicKey;
  const selfSigned = certificate.body.car === identity.chr && certificate.body.chr === identity.chr;
  if (!selfSigned || key.kind !== "ec" || !sameBytes(key.point, identity.publicKey)) return false;

  await objects.writeFile(FID.EF_DEVICE_CERTIFICATES, await issuedChain(issuer, identity.publicKey, identity.chr, now));
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** Returns ESPICOHSMTR followed by 5 decimal digits taken from the serial. */
export function deviceChrFromSerial(serial: Uint8Array): string {
  const value = new DataView(serial.buffer, serial.byteOffset, 4).getUint32(0) % 100000;
  return DEVICE_CHR_PREFIX + String(value).padStart(5, "0");
}
