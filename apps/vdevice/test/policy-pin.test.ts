// Session PIN (INS 5A behind option 0004) and transport PIN (option 0002).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { generateEcKey, initializeCard, openPolicyCard, signHash, swHex, USER_PIN, type PolicyCard } from "./policy-fixture.ts";

const OPTION_RRC = 0x0001;
const OPTION_TRANSPORT_PIN = 0x0002;
const OPTION_SESSION_PIN = 0x0004;
const KEY_ID = 1;

async function generateSessionPin(card: PolicyCard): Promise<{ data: Uint8Array; sw: string }> {
  const response = await card.raw("805A018100");
  return { data: response.data, sw: response.swHex };
}

async function sessionCard(): Promise<PolicyCard> {
  const card = await openPolicyCard();
  await initializeCard(card, OPTION_RRC | OPTION_SESSION_PIN);
  expect(await generateEcKey(card, KEY_ID)).toBe("9000");
  await card.select();
  return card;
}

describe("session PIN", () => {
  test("opens the session after SELECT", async () => {
    const card = await sessionCard();
    expect(await card.verifyUserPin()).toBe("9000");
    const sessionPin = await generateSessionPin(card);
    expect(sessionPin.sw).toBe("9000");
    expect(sessionPin.data.length).toBe(16);

    await card.select();
    expect(await signHash(card, KEY_ID)).toBe("6982");
    expect(await card.verifyUserPin(sessionPin.data)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
  });

  test("is gone after a card reset", async () => {
    const card = await sessionCard();
    expect(await card.verifyUserPin()).toBe("9000");
    const sessionPin = await generateSessionPin(card);

    card.device.reset();
    await card.select();
    expect(await card.verifyUserPin(sessionPin.data)).toBe("63C2");
    expect(await signHash(card, KEY_ID)).toBe("6982");
  });

  test("is gone after power-off", async () => {
    const card = await sessionCard();
    expect(await card.verifyUserPin()).toBe("9000");
    const sessionPin = await generateSessionPin(card);

    card.device.powerOff();
    card.device.powerOn();
    await card.select();
    expect(await card.verifyUserPin(sessionPin.data)).toBe("63C2");
  });

  test("clears explicitly", async () => {
    const card = await sessionCard();
    expect(await card.verifyUserPin()).toBe("9000");
    const sessionPin = await generateSessionPin(card);
    expect(await card.sw("805A0281")).toBe("9000");
    await card.select();
    expect(await card.verifyUserPin(sessionPin.data)).toBe("63C2");
  });

  test("needs a verified user PIN", async () => {
    const card = await sessionCard();
    expect((await generateSessionPin(card)).sw).toBe("6982");
    expect(await card.verifyUserPin(new TextEncoder().encode("000000"))).toBe("63C2");
    expect((await generateSessionPin(card)).sw).toBe("6982");
  });

  test("a changed PIN clears it", async () => {
    const card = await sessionCard();
    expect(await card.verifyUserPin()).toBe("9000");
    const sessionPin = await generateSessionPin(card);
    const change = new Uint8Array([...USER_PIN, ...new TextEncoder().encode("123456")]);
    expect(swHex((await card.send({ cla: 0x00, ins: 0x24, p1: 0x00, p2: 0x81, data: change })).sw)).toBe("9000");
    await card.select();
    expect(await card.verifyUserPin(sessionPin.data)).toBe("63C2");
  });

  test("without option 0004 INS 5A is unknown", async () => {
    const card = await openPolicyCard();
    await initializeCard(card, OPTION_RRC);
    expect(await card.verifyUserPin()).toBe("9000");
    expect((await generateSessionPin(card)).sw).toBe("6D00");
  });

  test("bad P1 and P2", async () => {
    const card = await sessionCard();
    expect(await card.verifyUserPin()).toBe("9000");
    expect(await card.sw("805A038100")).toBe("6A86");
    expect(await card.sw("805A018800")).toBe("6A88");
  });
});

describe("transport PIN", () => {
  async function transportCard(): Promise<PolicyCard> {
    const card = await openPolicyCard();
    await initializeCard(card, OPTION_RRC | OPTION_TRANSPORT_PIN);
    expect(await generateEcKey(card, KEY_ID)).toBe("9000");
    await card.select();
    return card;
  }

  test("blocks VERIFY and key use", async () => {
    const card = await transportCard();
    expect(await card.sw("0020008100")).toBe("6984");
    expect(await card.verifyUserPin()).toBe("6984");
    expect(await signHash(card, KEY_ID)).toBe("6982");
  });

  test("wrong transport PIN changes nothing", async () => {
    const card = await transportCard();
    const change = new Uint8Array([...new TextEncoder().encode("000000"), ...new TextEncoder().encode("112233")]);
    expect(swHex((await card.send({ cla: 0x00, ins: 0x24, p1: 0x00, p2: 0x81, data: change })).sw)).toBe("63C2");
    await card.select();
    expect(await card.verifyUserPin()).toBe("6984");
  });

  test("unblocks after CHANGE REFERENCE DATA", async () => {
    const card = await transportCard();
    const newPin = new TextEncoder().encode("112233");
    const change = new Uint8Array([...USER_PIN, ...newPin]);
    expect(swHex((await card.send({ cla: 0x00, ins: 0x24, p1: 0x00, p2: 0x81, data: change })).sw)).toBe("9000");

    await card.select();
    expect(await card.verifyUserPin()).toBe("63C2");
    expect(await card.verifyUserPin(newPin)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
  });

  test("the state survives a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "policy-transport-"));
    try {
      const card = await openPolicyCard({ dataDir });
      await initializeCard(card, OPTION_RRC | OPTION_TRANSPORT_PIN);
      await card.device.close();

      const reopened = await openPolicyCard({ dataDir });
      await reopened.select();
      expect(await reopened.verifyUserPin()).toBe("6984");
      await reopened.device.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(`${dataDir}.secret`, { force: true });
      await rm(`${dataDir}.issuer`, { recursive: true, force: true });
    }
  });
});
