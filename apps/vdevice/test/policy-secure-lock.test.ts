// Secure lock at rest: the MKEK copies are sealed under the host secret, so a
// restarted device or a copied data directory opens no key before EXTRAS 3A 03.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKeystore, type Keystore } from "@hsmkit/keystore";
import { concatBytes, encodeTlv } from "@hsmkit/tlv";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterEach, describe, expect, test } from "vitest";
import { SETTINGS_RECORD } from "../src/hsm/device-state.ts";
import { SECURE_LOCK_RECORD } from "../src/policy/secure-lock.ts";
import { loadOrCreateDeviceSecret } from "../src/storage/device-secret.ts";
import { openDirectoryBackend, type DirectoryBackend } from "../src/storage/directory-backend.ts";
import { generateEcKey, initializeCard, openPolicyCard, signHash, SO_PIN, swHex, toHex, USER_PIN, type PolicyCard } from "./policy-fixture.ts";

const KEY_ID = 1;
const TEST_SCRYPT = { N: 16, r: 1, p: 1 };
const HOST_SECRET = sha256(new TextEncoder().encode("host secret"));
const OTHER_SECRET = sha256(new TextEncoder().encode("another host"));
const EXTRAS_ENABLE = 0x02;
const EXTRAS_UNLOCK = 0x03;
const EXTRAS_DISABLE = 0x04;

let dataDir: string | undefined;

afterEach(async () => {
  if (dataDir === undefined) return;
  await rm(dataDir, { recursive: true, force: true });
  await rm(`${dataDir}.secret`, { force: true });
  await rm(`${dataDir}.issuer`, { recursive: true, force: true });
  dataDir = undefined;
});

/** Runs the key agreement (3A 01) and returns `secret` encrypted for the next 3A command. */
async function sealSecret(card: PolicyCard, secret: Uint8Array): Promise<Uint8Array> {
  const hostKey = p256.utils.randomSecretKey();
  const hostPoint = p256.getPublicKey(hostKey, false);
  const response = await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x01, data: hostPoint, ne: 256 });
  expect(response.sw).toBe(0x9000);
  const shared = p256.getSharedSecret(hostKey, response.data).subarray(1);
  const okm = hkdf(sha256, shared, undefined, hostPoint, 44);
  return chacha20poly1305(okm.slice(12, 44), okm.slice(0, 12), hostPoint).encrypt(secret);
}

/** Sends EXTRAS 3A with P2 `p2` and `secret`; returns the SW as hex. */
async function lockCommand(card: PolicyCard, p2: number, secret = HOST_SECRET): Promise<string> {
  const data = await sealSecret(card, secret);
  const { sw } = await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2, data });
  return sw.toString(16).toUpperCase();
}

async function readOptions(card: PolicyCard): Promise<string> {
  return toHex((await card.raw("8064060000")).data).toUpperCase();
}

/** Creates a data directory with key 1 and the secure lock enabled, and closes its device. */
async function lockedDataDir(): Promise<string> {
  dataDir = await mkdtemp(join(tmpdir(), "secure-lock-"));
  const card = await openPolicyCard({ dataDir });
  await initializeCard(card);
  expect(await generateEcKey(card, KEY_ID)).toBe("9000");
  expect(await lockCommand(card, EXTRAS_ENABLE)).toBe("9000");
  await card.device.close();
  return dataDir;
}

/** Sends INITIALIZE with the test PINs without a SELECT (initializeCard selects, which ends the unlock). */
async function initializeInSession(card: PolicyCard): Promise<string> {
  const data = concatBytes(encodeTlv(0x80, Uint8Array.of(0x00, 0x01)), encodeTlv(0x81, USER_PIN), encodeTlv(0x82, SO_PIN), encodeTlv(0x91, Uint8Array.of(3)));
  return swHex((await card.send({ cla: 0x80, ins: 0x50, p1: 0x00, p2: 0x00, data })).sw);
}

/** Opens the keystore of `directory` with its device-secret file, as someone holding a copy of both would. */
async function openCopy(directory: string): Promise<{ backend: DirectoryBackend; keystore: Keystore }> {
  const backend = await openDirectoryBackend(directory);
  const deviceSecret = await loadOrCreateDeviceSecret(`${directory}.secret`, { create: false });
  return { backend, keystore: await openKeystore(backend, { deviceSecret, scrypt: TEST_SCRYPT }) };
}

/** Restarts the device on `directory`, selects the applet and verifies the user PIN. */
async function restartAndVerify(directory: string): Promise<PolicyCard> {
  const card = await openPolicyCard({ dataDir: directory });
  await card.select();
  expect(await card.verifyUserPin()).toBe("9000");
  return card;
}

describe("secure lock at rest", () => {
  test("after a restart keys wait for the unlock", async () => {
    const card = await restartAndVerify(await lockedDataDir());
    expect(await readOptions(card)).toBe("0401");
    expect(await signHash(card, KEY_ID)).toBe("6400");

    expect(await lockCommand(card, EXTRAS_UNLOCK, OTHER_SECRET)).toBe("6700");
    expect(await signHash(card, KEY_ID)).toBe("6400");

    expect(await lockCommand(card, EXTRAS_UNLOCK)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();
  });

  test("a re-VERIFY after the unlock keeps keys usable", async () => {
    const card = await restartAndVerify(await lockedDataDir());
    expect(await lockCommand(card, EXTRAS_UNLOCK)).toBe("9000");
    expect(await card.verifyUserPin()).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();
  });

  test("a wrong disable secret changes nothing", async () => {
    const directory = await lockedDataDir();
    const card = await restartAndVerify(directory);
    expect(await lockCommand(card, EXTRAS_DISABLE, OTHER_SECRET)).toBe("6700");
    expect(await readOptions(card)).toBe("0401");
    await card.device.close();

    const reopened = await restartAndVerify(directory);
    expect(await signHash(reopened, KEY_ID)).toBe("6400");
    await reopened.device.close();
  });

  test("disable removes the seal for later sessions", async () => {
    const directory = await lockedDataDir();
    const card = await restartAndVerify(directory);
    expect(await lockCommand(card, EXTRAS_DISABLE)).toBe("9000");
    expect(await readOptions(card)).toBe("0001");
    await card.device.close();

    const reopened = await restartAndVerify(directory);
    expect(await readOptions(reopened)).toBe("0001");
    expect(await signHash(reopened, KEY_ID)).toBe("9000");
    await reopened.device.close();
  });

  test("INITIALIZE after a restart needs the unlock", async () => {
    const directory = await lockedDataDir();
    const card = await restartAndVerify(directory);
    expect(await initializeInSession(card)).toBe("6982");

    expect(await lockCommand(card, EXTRAS_UNLOCK)).toBe("9000");
    expect(await initializeInSession(card)).toBe("9000");
    expect(await readOptions(card)).toBe("0401");
    await card.device.close();

    const reopened = await restartAndVerify(directory);
    expect(await generateEcKey(reopened, KEY_ID)).toBe("6400");
    expect(await lockCommand(reopened, EXTRAS_UNLOCK)).toBe("9000");
    expect(await generateEcKey(reopened, KEY_ID)).toBe("9000");
    expect(await signHash(reopened, KEY_ID)).toBe("9000");
    await reopened.device.close();
  });

  test("unlock seals a lock enabled without the seal", async () => {
    const directory = await lockedDataDir();
    const { backend, keystore } = await openCopy(directory);
    keystore.setLockSecret(HOST_SECRET);
    await keystore.disableLock();
    await keystore.commit();
    await backend.close();

    const card = await restartAndVerify(directory);
    expect(await signHash(card, KEY_ID)).toBe("6400");
    expect(await lockCommand(card, EXTRAS_UNLOCK)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();

    const reopened = await restartAndVerify(directory);
    expect(await lockCommand(reopened, EXTRAS_UNLOCK)).toBe("9000");
    expect(await signHash(reopened, KEY_ID)).toBe("9000");
    await reopened.device.close();

    const copy = await openCopy(directory);
    expect(await copy.keystore.verifyPin("user", USER_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
    await copy.backend.close();
  });

  test("copied data directory opens no key", async () => {
    const directory = await lockedDataDir();
    const { backend, keystore } = await openCopy(directory);
    expect(await keystore.verifyPin("user", USER_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
    expect(keystore.unlocked).toBe(false);

    const settings = JSON.parse(new TextDecoder().decode(await keystore.getFile(SETTINGS_RECORD)));
    settings.options &= ~0x0400;
    await keystore.putFile(SETTINGS_RECORD, new TextEncoder().encode(JSON.stringify(settings)));
    await keystore.delete(SECURE_LOCK_RECORD);
    await keystore.commit();
    await backend.close();

    const card = await restartAndVerify(directory);
    expect(await readOptions(card)).toBe("0001");
    expect(await signHash(card, KEY_ID)).toBe("6400");
    await card.device.close();
  });
});
