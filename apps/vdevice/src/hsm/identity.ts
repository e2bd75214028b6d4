/**
 * The device identity, created at first start: a secp256r1 device key (key 0)
 * sealed under the device secret, its self-signed CV certificate in EF 2F02,
 * its authenticated request in CE00 and its PRKD in C400. All of them survive
 * INITIALIZE; the key is created again only when it or 2F02 is missing, and the
 * CHR is kept.
 */
import {
  DEVICE_CHAT,
  ecDomainFromNoble,
  ecdsaSigner,
  encodeAuthenticatedRequest,
  encodeCertificateBody,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  type CvcEcPublicKey,
} from "@hsmkit/cvc";
import { p256 } from "@noble/curves/nist.js";
import { FID } from "./constants.ts";
import type { DeviceState } from "./device-state.ts";
import type { ObjectStore } from "./objects.ts";
import { deviceKeyPrkd } from "./prkd.ts";

/** CHR prefix of every SmartCard-HSM device certificate; OpenSC shows it as the token serial. */
export const DEVICE_CHR_PREFIX = "ESPICOHSMTR";

/** Validity the firmware writes into the self-signed device certificate. */
const EFFECTIVE_DATE = new Date(Date.UTC(2023, 2, 21));
const EXPIRATION_DATE = new Date(Date.UTC(2070, 11, 31));

const SERIAL_LENGTH = 16;

/**
 * Creates the device identity when it is missing (first start) or when the
 * host deleted EF 2F02. Stages its writes; the caller commits.
 * Returns whether anything was created.
 */
export async function ensureDeviceIdentity(
  objects: ObjectStore,
  device: DeviceState,
  random: (length: number) => Uint8Array,
): Promise<boolean> {
  const complete =
    device.identity !== undefined &&
    (await objects.hasDeviceKey()) &&
    (await objects.fileExists(FID.EF_DEVICE_CERTIFICATES)) &&
    (await objects.fileExists(FID.DEVICE_KEY_REQUEST));
  if (complete) return false;

  const serial = device.identity?.serial ?? random(SERIAL_LENGTH);
  const chr = device.identity?.chr ?? deviceChrFromSerial(serial);

  const privateKey = p256.utils.randomSecretKey(random(48));
  const publicKey = p256.getPublicKey(privateKey, false);
  const signer = ecdsaSigner(p256, privateKey);

  const cvcKey: CvcEcPublicKey = { kind: "ec", oid: ID_TA_ECDSA_SHA_256, domain: ecDomainFromNoble(p256), point: publicKey };
  const certificate = await signCertificate(
    {
      car: chr,
      publicKey: cvcKey,
      chr,
      chat: DEVICE_CHAT,
      effectiveDate: EFFECTIVE_DATE,
      expirationDate: EXPIRATION_DATE,
    },
    signer,
  );
  const innerRequest = await signCertificate(encodeCertificateBody({ car: chr, publicKey: cvcKey, chr }), signer);
  const request = await encodeAuthenticatedRequest(innerRequest, chr, signer);

  await objects.putDeviceKey(privateKey);
  privateKey.fill(0);
  await objects.writeFile(FID.EF_DEVICE_CERTIFICATES, certificate);
  await objects.writeFile(FID.DEVICE_KEY_REQUEST, request);
  await objects.writeFile(FID.DEVICE_KEY_PRKD, deviceKeyPrkd());
  await device.putIdentity({ serial, chr, publicKey });
  return true;
}

/** Returns ESPICOHSMTR followed by 5 decimal digits taken from the serial. */
export function deviceChrFromSerial(serial: Uint8Array): string {
  const value = new DataView(serial.buffer, serial.byteOffset, 4).getUint32(0) % 100000;
  return DEVICE_CHR_PREFIX + String(value).padStart(5, "0");
}
