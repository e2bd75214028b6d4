// Key usage counter (metadata tag 90): N uses, then 6A84, durable across
// restarts, and not raised by editing the public key record on disk.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeTlv } from "@hsmkit/tlv";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { counterTag, generateEcKey, initializeCard, openPolicyCard, signHash, type PolicyCard } from "./policy-fixture.ts";

const KEY_ID = 1;
const KEY_INFO_FILE = "keyinfo%2F01.rec";
const COUNTER_FILE = "keyuse%2F01.rec";

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "policy-counter-"));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await rm(`${dataDir}.secret`, { force: true });
  await rm(`${dataDir}.issuer`, { recursive: true, force: true });
});

/** Opens the device on `dataDir`, selects the applet and logs the user in. */
async function reopen(): Promise<PolicyCard> {
  const card = await openPolicyCard({ dataDir });
  await card.select();
  expect(await card.verifyUserPin()).toBe("9000");
  return card;
}

async function createCountedKey(counter: number): Promise<PolicyCard> {
  const card = await openPolicyCard({ dataDir });
  await initializeCard(card);
  expect(await generateEcKey(card, KEY_ID, [counterTag(counter)])).toBe("9000");
  return card;
}

async function editKeyInfo(change: (json: { meta: Record<string, unknown> }) => void): Promise<void> {
  const path = `${dataDir}/${KEY_INFO_FILE}`;
  const json = JSON.parse(await readFile(path, "utf8"));
  change(json);
  await writeFile(path, JSON.stringify(json));
}

describe("usage counter", () => {
  test("signs N times then refuses", async () => {
    const card = await createCountedKey(3);
    for (let use = 1; use <= 3; use++) expect(await signHash(card, KEY_ID), `use ${use}`).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6A84");
    expect(await signHash(card, KEY_ID)).toBe("6A84");
    await card.device.close();
  });

  test("still refuses after a restart", async () => {
    const card = await createCountedKey(2);
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();

    const second = await reopen();
    expect(await signHash(second, KEY_ID)).toBe("9000");
    expect(await signHash(second, KEY_ID)).toBe("6A84");
    await second.device.close();

    const third = await reopen();
    expect(await signHash(third, KEY_ID)).toBe("6A84");
    await third.device.close();
  });

  test("failed use does not count", async () => {
    const card = await createCountedKey(1);
    const wrongAlgorithm = await card.send({ cla: 0x80, ins: 0x68, p1: KEY_ID, p2: 0x21, data: new Uint8Array(32), ne: 256 });
    expect(wrongAlgorithm.sw).not.toBe(0x9000);
    expect(await signHash(card, KEY_ID)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6A84");
    await card.device.close();
  });

  test("raising the public copy gains nothing", async () => {
    const card = await createCountedKey(1);
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();

    await editKeyInfo((json) => (json.meta.counter = 1000));
    const reopened = await reopen();
    expect(await signHash(reopened, KEY_ID)).toBe("6A84");
    await reopened.device.close();
  });

  test("deleting the sealed copy blocks the key", async () => {
    const card = await createCountedKey(5);
    await card.device.close();

    await rm(`${dataDir}/${COUNTER_FILE}`);
    const reopened = await reopen();
    expect(await signHash(reopened, KEY_ID)).toBe("6A84");
    await reopened.device.close();
  });

  test("stripping tag 90 leaves a key that does not open", async () => {
    const card = await createCountedKey(1);
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();

    await rm(`${dataDir}/${COUNTER_FILE}`);
    await editKeyInfo((json) => delete json.meta.counter);
    const reopened = await reopen();
    const sw = await signHash(reopened, KEY_ID);
    expect(sw).not.toBe("9000");
    expect(sw).toBe("6400");
    await reopened.device.close();
  });
});

describe("usage counter bad input", () => {
  async function initialized(): Promise<PolicyCard> {
    const card = await openPolicyCard({ dataDir });
    await initializeCard(card);
    return card;
  }

  test("zero is 6A80 and creates nothing", async () => {
    const card = await initialized();
    expect(await generateEcKey(card, KEY_ID, [counterTag(0)])).toBe("6A80");
    expect(await signHash(card, KEY_ID)).toBe("6A82");
    await card.device.close();
  });

  test("more than 4 bytes is 6A80", async () => {
    const card = await initialized();
    expect(await generateEcKey(card, KEY_ID, [encodeTlv(0x90, Uint8Array.of(1, 0, 0, 0, 0))])).toBe("6A80");
    expect(await generateEcKey(card, KEY_ID, [encodeTlv(0x90, Uint8Array.of(1, 0))])).toBe("6A80");
    expect(await signHash(card, KEY_ID)).toBe("6A82");
    await card.device.close();
  });

  test("the largest counter is accepted", async () => {
    const card = await initialized();
    expect(await generateEcKey(card, KEY_ID, [counterTag(0xffffffff)])).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
    await card.device.close();
  });
});
