// The device certificate chain in EF 2F02 (device ‖ DV ‖ root from the local
// issuer) and the attestation of generated keys: every signature checked with
// @hsmkit/cvc, up to the issuer's root as the only trust anchor.
import { MemoryBackend, openKeystore } from "@hsmkit/keystore";
import { fromHex } from "@hsmkit/tlv";
import {
  decodeAuthenticatedRequest,
  decodeCvcChain,
  verifyChain,
  verifyCvSignature,
  verifyProofOfPossession,
  type CvcEcPublicKey,
} from "@hsmkit/cvc";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createIssuerMaterial, DeviceIssuer } from "../src/attestation/issuer.ts";
import { loadOrCreateIssuer } from "../src/attestation/issuer-store.ts";
import { createDevice } from "../src/device.ts";
import { FID } from "../src/hsm/constants.ts";
import { DeviceState } from "../src/hsm/device-state.ts";
import { ensureDeviceIdentity, useIssuer } from "../src/hsm/identity.ts";
import { ObjectStore } from "../src/hsm/objects.ts";
import { silentLogger } from "../src/log.ts";
import { TEST_SCRYPT } from "./hsm-harness.ts";
import { ecTemplate, generateKeyPair, keyPairData, openCard, readFile, rsaTemplate } from "./keys-fixture.ts";

const NOW = new Date();
const random = (length: number) => crypto.getRandomValues(new Uint8Array(length));
const temporaryDirectories: string[] = [];

afterAll(async () => {
  for (const directory of temporaryDirectories) await rm(directory, { recursive: true, force: true });
});

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "vdevice-attestation-"));
  temporaryDirectories.push(directory);
  return directory;
}

/** Reads EF 2F02 of a device through SELECT and READ BINARY. */
async function deviceChain(transmit: (frame: Uint8Array) => Promise<Uint8Array>) {
  await transmit(fromHex("00A404000BE82B0601040181C31F020100"));
  const response = await transmit(fromHex("00B12F02000004540200000000"));
  expect(response.subarray(-2)).toEqual(Uint8Array.of(0x90, 0x00));
  return decodeCvcChain(response.subarray(0, -2));
}

describe("device certificate chain", () => {
  it("verifies up to the issuer's root", async () => {
    const issuer = new DeviceIssuer(await createIssuerMaterial(random, NOW));
    const device = await createDevice({ scrypt: TEST_SCRYPT, issuer });
    const chain = await deviceChain(device.transmit);

    expect(chain.length).toBe(3);
    const result = await verifyChain(chain, { trustAnchors: [issuer.root], now: NOW });
    expect(result.path.map((certificate) => certificate.body.chr)).toEqual([chain[0].body.chr, issuer.dv.body.chr, issuer.root.body.chr]);
  });

  it("has the references pypicohsm's test_termca expects", async () => {
    const device = await createDevice({ scrypt: TEST_SCRYPT });
    const [certificate, dv, root] = await deviceChain(device.transmit);

    expect(certificate.body.chr).toMatch(/^ESPICOHSMTR[0-9]{5}$/);
    expect(certificate.body.car).toBe(dv.body.chr);
    expect(dv.body.chr).toMatch(/^ESPICOHSMDV[A-Z0-9]{5}$/);
    expect(dv.body.car).toMatch(/^ESPICOHSMCA[A-Z0-9]{5}$/);
    expect(root.body.chr).toBe(dv.body.car);
  });

  it("fits device and DV in OpenSC's 1024 bytes", async () => {
    // OpenSC's chip authentication decodes the device and DV certificates from the first 1024 bytes of EF 2F02.
    const device = await createDevice({ scrypt: TEST_SCRYPT });
    const [certificate, dv] = await deviceChain(device.transmit);
    expect(certificate.encoded.length + dv.encoded.length).toBeLessThanOrEqual(1024);
  });

  it("fails against another root", async () => {
    const device = await createDevice({ scrypt: TEST_SCRYPT });
    const chain = await deviceChain(device.transmit);
    const other = new DeviceIssuer(await createIssuerMaterial(random, NOW));

    await expect(verifyChain(chain.slice(0, 2), { trustAnchors: [other.root], now: NOW })).rejects.toThrow(/no certificate or trust anchor/);
  });

  it("fails when a certificate byte changes", async () => {
    const issuer = new DeviceIssuer(await createIssuerMaterial(random, NOW));
    const device = await createDevice({ scrypt: TEST_SCRYPT, issuer });
    const [certificate] = await deviceChain(device.transmit);

    const tampered = certificate.encoded.slice();
    tampered[tampered.length - 10] ^= 0x01;
    const chain = decodeCvcChain(tampered);
    await expect(verifyChain([...chain, issuer.dv], { trustAnchors: [issuer.root], now: NOW })).rejects.toThrow(/signature does not verify/);
  });

  it("carries the device key of CE00", async () => {
    const device = await createDevice({ scrypt: TEST_SCRYPT });
    const [certificate] = await deviceChain(device.transmit);
    await device.transmit(fromHex("00A4000002CE0000"));
    const response = await device.transmit(fromHex("00B1CE00000004540200000000"));
    const request = decodeAuthenticatedRequest(response.subarray(0, -2));

    expect((request.request.body.publicKey as CvcEcPublicKey).point).toEqual((certificate.body.publicKey as CvcEcPublicKey).point);
    expect(await verifyCvSignature(request, certificate.body.publicKey)).toBe(true);
  });
});

describe("issuer directory", () => {
  it("is shared by devices that name it", async () => {
    const base = await temporaryDirectory();
    const options = { scrypt: TEST_SCRYPT, issuerDir: join(base, "fleet-issuer") };
    const first = await createDevice({ ...options, dataDir: join(base, "a") });
    const second = await createDevice({ ...options, dataDir: join(base, "b") });

    const [certificateA, dvA, rootA] = await deviceChain(first.transmit);
    const [certificateB, dvB, rootB] = await deviceChain(second.transmit);
    await first.close();
    await second.close();

    expect(rootB.encoded).toEqual(rootA.encoded);
    expect(dvB.encoded).toEqual(dvA.encoded);
    expect((certificateB.body.publicKey as CvcEcPublicKey).point).not.toEqual((certificateA.body.publicKey as CvcEcPublicKey).point);
    await verifyChain([certificateB, dvB], { trustAnchors: [rootA], now: NOW });
  });

  it("defaults to a directory beside the data directory and persists", async () => {
    const base = await temporaryDirectory();
    const dataDir = join(base, "device");
    const first = await createDevice({ scrypt: TEST_SCRYPT, dataDir });
    const chain = await deviceChain(first.transmit);
    await first.close();

    const issuer = await loadOrCreateIssuer(`${dataDir}.issuer`, { log: silentLogger, random });
    expect(issuer.root.encoded).toEqual(chain[2].encoded);

    const reopened = await createDevice({ scrypt: TEST_SCRYPT, dataDir });
    expect((await deviceChain(reopened.transmit)).map((certificate) => certificate.encoded)).toEqual(chain.map((certificate) => certificate.encoded));
    await reopened.close();
  });

  it("rejects an issuer directory without its secret", async () => {
    const base = await temporaryDirectory();
    const directory = join(base, "issuer");
    await loadOrCreateIssuer(directory, { log: silentLogger, random });
    await rm(`${directory}.secret`);

    await expect(loadOrCreateIssuer(directory, { log: silentLogger, random })).rejects.toThrow();
  });
});

describe("identity upgrade", () => {
  async function openState() {
    const keystore = await openKeystore(new MemoryBackend(), { deviceSecret: random(32), scrypt: TEST_SCRYPT });
    const objects = new ObjectStore(keystore);
    const device = new DeviceState(keystore, objects);
    await device.load();
    return { keystore, objects, device };
  }

  it("replaces the firmware's self-signed certificate", async () => {
    const { keystore, objects, device } = await openState();
    expect(await ensureDeviceIdentity(objects, device, random)).toBe(true);
    await keystore.commit();
    const [selfSigned] = decodeCvcChain((await objects.readFile(FID.EF_DEVICE_CERTIFICATES))!);
    expect(selfSigned.body.car).toBe(selfSigned.body.chr);

    const issuer = new DeviceIssuer(await createIssuerMaterial(random, NOW));
    useIssuer(device, issuer);
    expect(await ensureDeviceIdentity(objects, device, random)).toBe(true);

    const chain = decodeCvcChain((await objects.readFile(FID.EF_DEVICE_CERTIFICATES))!);
    expect(chain[0].body.chr).toBe(selfSigned.body.chr);
    await verifyChain(chain, { trustAnchors: [issuer.root], now: NOW });
    expect(await ensureDeviceIdentity(objects, device, random)).toBe(false);
  });

  it("keeps a chain the host wrote", async () => {
    const { objects, device } = await openState();
    await ensureDeviceIdentity(objects, device, random);
    const provisioned = fromHex(
      readFileSync(new URL("../../../libs/cvc/test/vectors/ESPICOHSMTRLRA4C.hex", import.meta.url), "utf8")
        .split("\n")
        .filter((line) => !line.startsWith("#"))
        .join(""),
    );
    await objects.writeFile(FID.EF_DEVICE_CERTIFICATES, provisioned);

    useIssuer(device, new DeviceIssuer(await createIssuerMaterial(random, NOW)));
    expect(await ensureDeviceIdentity(objects, device, random)).toBe(false);
    expect(await objects.readFile(FID.EF_DEVICE_CERTIFICATES)).toEqual(provisioned);
  });
});

describe("key attestation", () => {
  it("verifies each generated key's request against the device key", async () => {
    const card = await openCard();
    const chain = decodeCvcChain((await readFile(card, 0x2f02)).content);
    await verifyChain(chain, { trustAnchors: [chain[2]], now: NOW });

    for (const [keyId, template] of [[1, ecTemplate("secp256r1")], [2, rsaTemplate(1024)]] as const) {
      const { data, sw } = await generateKeyPair(card, keyId, keyPairData(template));
      expect(sw).toBe(0x9000);

      const stored = (await readFile(card, 0xce00 | keyId)).content;
      expect(stored).toEqual(data);

      const request = decodeAuthenticatedRequest(stored);
      expect(request.outerCar).toBe(chain[0].body.chr);
      expect(await verifyProofOfPossession(request)).toBe(true);
      expect(await verifyCvSignature(request, chain[0].body.publicKey)).toBe(true);

      const forged = stored.slice();
      forged[forged.length - 1] ^= 0x01;
      expect(await verifyCvSignature(decodeAuthenticatedRequest(forged), chain[0].body.publicKey)).toBe(false);
    }
  });
});
