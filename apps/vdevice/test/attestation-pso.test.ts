// MSE SET DST and PSO VERIFY CERTIFICATE. A certificate issued under a root
// that EF 2F02 already contains joins the trust store (CA n and its C8 n
// description). A bad signature, a wrong CAR or malformed data stores nothing.
import { encodeCommandApdu, parseResponseApdu, type CommandApduFields } from "@hsmkit/apdu";
import {
  decodeCvCertificate,
  decodeCvcChain,
  DEVICE_CHAT,
  ecDomainFromNoble,
  ecdsaSigner,
  ID_TA_ECDSA_SHA_256,
  signCertificate,
  type CvcEcPublicKey,
} from "@hsmkit/cvc";
import { p256 } from "@noble/curves/nist.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { describe, expect, it } from "vitest";
import { createIssuerMaterial, DeviceIssuer, type IssuerMaterial } from "../src/attestation/issuer.ts";
import { createDevice, type VirtualDevice } from "../src/device.ts";
import { HSM_AID } from "../src/hsm/constants.ts";
import { TEST_SCRYPT } from "./hsm-harness.ts";

const random = (length: number) => crypto.getRandomValues(new Uint8Array(length));
const NOW = new Date();

async function send(device: VirtualDevice, command: CommandApduFields): Promise<{ data: Uint8Array; sw: number }> {
  const extended = (command.data?.length ?? 0) > 255 || (command.ne ?? 0) > 256;
  return parseResponseApdu(await device.transmit(encodeCommandApdu(command, { extended })));
}

function selectIssuer(chr: string): CommandApduFields {
  const value = new TextEncoder().encode(chr);
  return { cla: 0x00, ins: 0x22, p1: 0x81, p2: 0xb6, data: Uint8Array.of(0x83, value.length, ...value) };
}

function verifyCertificate(certificate: Uint8Array, p2 = 0xbe): CommandApduFields {
  return { cla: 0x00, ins: 0x2a, p1: 0x00, p2, data: certificate };
}

async function readEf(device: VirtualDevice, fid: number): Promise<{ data: Uint8Array; sw: number }> {
  return send(device, { cla: 0x00, ins: 0xb1, p1: fid >> 8, p2: fid & 0xff, data: Uint8Array.of(0x54, 0x02, 0x00, 0x00), ne: 65536 });
}

/** Opens a device under a new issuer and keeps the DV key, so the test can issue certificates itself. */
async function openDevice(): Promise<{ device: VirtualDevice; material: IssuerMaterial; dvKey: Uint8Array; dvChr: string }> {
  const material = await createIssuerMaterial(random, NOW);
  const dvKey = material.dvKey.slice();
  const device = await createDevice({ scrypt: TEST_SCRYPT, issuer: new DeviceIssuer(material) });
  expect((await send(device, { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 })).sw).toBe(0x9000);
  return { device, material, dvKey, dvChr: decodeCvCertificate(material.dvCertificate).body.chr };
}

/** Issues a terminal certificate for a new P-256 key; `withDomain` false leaves only the point, as CA-issued certificates do. */
async function issue(signerKey: Uint8Array, car: string, chr: string, withDomain = true): Promise<{ certificate: Uint8Array; secret: Uint8Array }> {
  const secret = p256.utils.randomSecretKey();
  const point = p256.getPublicKey(secret, false);
  const domain = withDomain ? ecDomainFromNoble(p256) : undefined;
  const publicKey: CvcEcPublicKey = { kind: "ec", oid: ID_TA_ECDSA_SHA_256, point, ...(domain === undefined ? {} : { domain }) };
  const certificate = await signCertificate(
    { car, publicKey, chr, chat: DEVICE_CHAT, effectiveDate: new Date(Date.UTC(2024, 0, 1)), expirationDate: new Date(Date.UTC(2030, 0, 1)) },
    ecdsaSigner(p256, signerKey),
  );
  return { certificate, secret };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (needle.every((byte, index) => haystack[start + index] === byte)) return true;
  }
  return false;
}

describe("PSO VERIFY CERTIFICATE", () => {
  it("adds a certificate issued by the DV", async () => {
    const { device, dvKey, dvChr } = await openDevice();
    const { certificate } = await issue(dvKey, dvChr, "ESPICOHSMTR99999", false);

    expect((await send(device, selectIssuer("ESPICOHSMTR99999"))).sw).toBe(0x6a88);
    expect((await send(device, selectIssuer(dvChr))).sw).toBe(0x9000);
    expect((await send(device, verifyCertificate(certificate))).sw).toBe(0x9000);

    const stored = await readEf(device, 0xca00);
    expect(stored.sw).toBe(0x9000);
    expect(stored.data).toEqual(certificate);
    expect((await send(device, selectIssuer("ESPICOHSMTR99999"))).sw).toBe(0x9000);

    const description = await readEf(device, 0xc800);
    const x = (decodeCvCertificate(certificate).body.publicKey as CvcEcPublicKey).point.subarray(1, 33);
    expect(description.sw).toBe(0x9000);
    expect(contains(description.data, sha1(x))).toBe(true);
    expect(contains(description.data, new TextEncoder().encode("ESPICOHSMTR99999"))).toBe(true);
    expect(contains(description.data, Uint8Array.of(0x04, 0x02, 0xca, 0x00))).toBe(true);
  });

  it("accepts the content form and a second level that inherits the curve", async () => {
    const { device, dvKey, dvChr } = await openDevice();
    const first = await issue(dvKey, dvChr, "ESTESTDV000001", false);
    const second = await issue(first.secret, "ESTESTDV000001", "ESTESTTR000001", false);

    expect((await send(device, selectIssuer(dvChr))).sw).toBe(0x9000);
    const content = decodeCvCertificate(first.certificate).encoded.subarray(4);
    expect((await send(device, verifyCertificate(content, 0x92))).sw).toBe(0x9000);

    expect((await send(device, selectIssuer("ESTESTDV000001"))).sw).toBe(0x9000);
    expect((await send(device, verifyCertificate(second.certificate, 0xae))).sw).toBe(0x9000);
    expect((await readEf(device, 0xca01)).data).toEqual(second.certificate);
  });

  it("rejects a bad signature and stores nothing", async () => {
    const { device, dvKey, dvChr } = await openDevice();
    const { certificate } = await issue(dvKey, dvChr, "ESPICOHSMTR99998");
    const forged = certificate.slice();
    forged[forged.length - 3] ^= 0x01;

    expect((await send(device, selectIssuer(dvChr))).sw).toBe(0x9000);
    expect((await send(device, verifyCertificate(forged))).sw).toBe(0x6985);
    expect((await send(device, { cla: 0x00, ins: 0xa4, p1: 0x00, p2: 0x00, data: Uint8Array.of(0xca, 0x00), ne: 256 })).sw).toBe(0x6a82);
  });

  it("rejects a certificate from another issuer", async () => {
    const { device, material } = await openDevice();
    const root = decodeCvCertificate(material.rootCertificate).body.chr;
    const other = await openDevice();
    const { certificate } = await issue(other.dvKey, other.dvChr, "ESPICOHSMTR99997");

    // Selecting the device's own root and sending a certificate whose CAR is a foreign DV.
    expect((await send(device, selectIssuer(root))).sw).toBe(0x9000);
    expect((await send(device, verifyCertificate(certificate))).sw).toBe(0x6985);
  });

  it("answers the spec's status words to bad commands", async () => {
    const { device, dvKey, dvChr } = await openDevice();
    const { certificate } = await issue(dvKey, dvChr, "ESPICOHSMTR99996");

    expect((await send(device, verifyCertificate(certificate))).sw).toBe(0x6a88);
    expect((await send(device, { ...verifyCertificate(certificate), p1: 0x01 })).sw).toBe(0x6a86);
    expect((await send(device, verifyCertificate(certificate, 0xbf))).sw).toBe(0x6a86);

    expect((await send(device, selectIssuer(dvChr))).sw).toBe(0x9000);
    expect((await send(device, { cla: 0x00, ins: 0x2a, p1: 0x00, p2: 0xbe })).sw).toBe(0x6700);
    expect((await send(device, verifyCertificate(certificate.subarray(0, 40)))).sw).toBe(0x6984);
    expect((await send(device, verifyCertificate(Uint8Array.of(0x7f, 0x22, 0x01, 0x00)))).sw).toBe(0x6984);
  });

  it("forgets the selection on SELECT", async () => {
    const { device, dvKey, dvChr } = await openDevice();
    const { certificate } = await issue(dvKey, dvChr, "ESPICOHSMTR99995");

    expect((await send(device, selectIssuer(dvChr))).sw).toBe(0x9000);
    expect((await send(device, { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: HSM_AID, ne: 256 })).sw).toBe(0x9000);
    expect((await send(device, verifyCertificate(certificate))).sw).toBe(0x6a88);
  });

  it("finds the 2F02 certificates by CHR", async () => {
    const { device } = await openDevice();
    const chain = decodeCvcChain((await readEf(device, 0x2f02)).data);
    for (const certificate of chain) expect((await send(device, selectIssuer(certificate.body.chr))).sw, certificate.body.chr).toBe(0x9000);
    expect((await send(device, selectIssuer(chain[0].body.chr.slice(0, -1)))).sw).toBe(0x6a88);
  });
});
