// At rest: after keys of every type are generated and imported on a device with
// a data directory, no file in that directory contains a private key component,
// a PIN, the DKEK or the MKEK.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";

import { decodeKeyBlob, encodeKeyBlob, type KeyBlobKey } from "@hsmkit/keystore";
import { toHex } from "@hsmkit/tlv";

import { bigIntToBytes } from "../src/crypto/curves.ts";
import { createDevice, type VirtualDevice } from "../src/device.ts";
import { unwrappedKeyOf } from "../src/keys/wrapped-key.ts";
import { byte, SO_PIN_HEX, TestCard, TEST_SCRYPT, USER_PIN, withExtendedLc, withLc, ascii } from "./hsm-harness.ts";
import { ecTemplate, keyPairData, rsaTemplate } from "./keys-fixture.ts";

/** Length of the MKEK the keystore draws from the random source. */
const MKEK_LENGTH = 32;

let root: string;
let device: VirtualDevice | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vdevice-at-rest-"));
});

afterEach(async () => {
  await device?.close();
  device = undefined;
  await rm(root, { recursive: true, force: true });
});

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

async function filesUnder(directory: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

async function ok(card: TestCard, apdu: string, what: string): Promise<Uint8Array> {
  const response = await card.send(apdu);
  expect(response.swHex, what).toBe("9000");
  return response.data;
}

function extendedCase4(header: string, data: Uint8Array): string {
  return withExtendedLc(header, toHex(data)) + "0000";
}

/** Returns the private components of a blob's key, as the device stores them. */
function privateParts(key: KeyBlobKey): Uint8Array[] {
  if (key.type === "aes") return [key.key];
  if (key.type === "ec") return [key.d];
  const unwrapped = unwrappedKeyOf(key);
  if (unwrapped.type !== "rsa") throw new Error("expected an RSA key");
  const rsa = unwrapped.key;
  const length = (value: bigint) => Math.ceil(value.toString(16).length / 2);
  return [rsa.p, rsa.q, rsa.d, rsa.dp, rsa.dq, rsa.qi].map((value) => bigIntToBytes(value, length(value)));
}

it("no data file holds a private key, PIN, DKEK or MKEK", async () => {
  const drawn: Uint8Array[] = [];
  const random = (length: number) => {
    const value = crypto.getRandomValues(new Uint8Array(length));
    if (length === MKEK_LENGTH) drawn.push(value.slice());
    return value;
  };
  const dataDir = join(root, "data");
  device = await createDevice({ dataDir, secretFile: join(root, "device.secret"), scrypt: TEST_SCRYPT, random });
  const card = new TestCard(device);
  const dkek = crypto.getRandomValues(new Uint8Array(32));

  await card.selectApplet();
  await ok(card, withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 920101`), "INITIALIZE");
  await ok(card, withLc("80520000", toHex(dkek)) + "00", "IMPORT DKEK SHARE");
  expect(await card.login()).toBe("9000");

  // Generated keys: RSA, EC on two curves, AES of every size.
  await ok(card, extendedCase4("00460100", keyPairData(rsaTemplate(2048))), "GENERATE RSA-2048");
  await ok(card, extendedCase4("00460200", keyPairData(ecTemplate("secp256r1"))), "GENERATE P-256");
  await ok(card, extendedCase4("00460300", keyPairData(ecTemplate("brainpoolP384r1"))), "GENERATE brainpoolP384r1");
  for (const [id, p2] of [[4, "B0"], [5, "B1"], [6, "B2"], [7, "B3"]] as const) {
    await ok(card, `8048${byte(id)}${p2}`, `GENERATE SYMMETRIC KEY ${p2}`);
  }

  // Imported keys: RSA and EC made on the host, AES-256.
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }) as Record<string, string>;
  const b64 = (value: string) => new Uint8Array(Buffer.from(value, "base64url"));
  const imported: KeyBlobKey[] = [
    { type: "rsa", n: b64(rsa.n), e: b64(rsa.e), d: b64(rsa.d) },
    { type: "aes", key: crypto.getRandomValues(new Uint8Array(32)) },
  ];
  for (const [index, key] of imported.entries()) {
    await ok(card, withExtendedLc(`8074${byte(0x10 + index)}93`, toHex(encodeKeyBlob(dkek, key))), `UNWRAP ${key.type}`);
  }
  const ec = await card.send("8072029200 0000".replace(/\s/g, ""));
  expect(ec.swHex).toBe("9000");
  await ok(card, withExtendedLc("80741293", toHex(ec.data)), "UNWRAP EC");

  // The private material of every key, read back through WRAP.
  const secrets: [string, Uint8Array][] = [];
  for (const id of [1, 2, 3, 4, 5, 6, 7, 0x10, 0x11, 0x12]) {
    const blob = await ok(card, `8072${byte(id)}92000000`, `WRAP ${id}`);
    for (const part of privateParts(decodeKeyBlob(dkek, blob).key)) secrets.push([`key ${id}`, part]);
  }
  for (const key of imported) for (const part of privateParts(key)) secrets.push(["imported key", part]);
  secrets.push(["user PIN", new TextEncoder().encode(USER_PIN)], ["SO-PIN", Uint8Array.from(Buffer.from(SO_PIN_HEX, "hex"))], ["DKEK", dkek]);
  for (const value of drawn) secrets.push(["MKEK or other 32-byte random value", value]);
  await device.close();
  device = undefined;

  const files = await filesUnder(dataDir);
  expect(files.length).toBeGreaterThan(10);
  expect(files.some((path) => path.endsWith("device.secret"))).toBe(false);
  for (const path of files) {
    const content = new Uint8Array(await readFile(path));
    for (const [what, secret] of secrets) {
      expect(secret.length, what).toBeGreaterThanOrEqual(6);
      expect(contains(content, secret), `${path} contains ${what}`).toBe(false);
    }
  }
  // The scan finds public bytes: the imported RSA modulus is in the CV request of key 10.
  const contents = await Promise.all(files.map((path) => readFile(path)));
  expect(contents.some((content) => contains(new Uint8Array(content), b64(rsa.n)))).toBe(true);
  expect((await stat(join(root, "device.secret"))).mode & 0o077).toBe(0);
});
