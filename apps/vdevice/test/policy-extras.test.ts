// EXTRAS (INS 64): device options, the real-time clock, memory information,
// secure lock and the hardware-only sub-commands.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterEach, describe, expect, test } from "vitest";
import { hostClock } from "../src/commands/extras.ts";
import { generateEcKey, initializeCard, openPolicyCard, signHash, toHex, type PolicyCard } from "./policy-fixture.ts";

const KEY_ID = 1;
const realNow = hostClock.now;

afterEach(() => {
  hostClock.now = realNow;
});

async function loggedIn(options = 0x0001): Promise<PolicyCard> {
  const card = await openPolicyCard();
  await initializeCard(card, options);
  expect(await generateEcKey(card, KEY_ID)).toBe("9000");
  await card.select();
  expect(await card.verifyUserPin()).toBe("9000");
  return card;
}

async function readOptions(card: PolicyCard): Promise<string> {
  const response = await card.raw("8064060000");
  return `${toHex(response.data).toUpperCase()} ${response.swHex}`;
}

describe("EXTRAS options", () => {
  test("read without login, write the high byte", async () => {
    const card = await loggedIn();
    await card.select();
    expect(await readOptions(card)).toBe("0001 9000");
    expect(await card.sw("806406000102")).toBe("6982");

    expect(await card.verifyUserPin()).toBe("9000");
    expect(await card.sw("806406000102")).toBe("9000");
    expect(await readOptions(card)).toBe("0201 9000");
  });

  test("the secure-lock bit changes only through 3A", async () => {
    const card = await loggedIn();
    expect(await card.sw("806406000104")).toBe("6985");
    expect(await readOptions(card)).toBe("0001 9000");
  });

  test("bad P2 and length", async () => {
    const card = await loggedIn();
    expect(await card.sw("806406010101")).toBe("6A86");
    expect(await card.sw("80640600020101")).toBe("6700");
    expect(await readOptions(card)).toBe("0001 9000");
  });
});

describe("EXTRAS clock", () => {
  test("round-trips through the host clock offset", async () => {
    const card = await loggedIn();
    hostClock.now = () => Date.UTC(2026, 11, 4, 12, 0, 0);
    // 2031-03-15 (a Saturday, weekday 6) 08:30:15; the month is 0-based.
    expect(await card.sw("80640A000807EF020F06081E0F")).toBe("9000");
    expect(toHex((await card.raw("80640A0000")).data).toUpperCase()).toBe("07EF020F06081E0F");

    hostClock.now = () => Date.UTC(2026, 11, 4, 12, 0, 45);
    expect(toHex((await card.raw("80640A0000")).data).toUpperCase()).toBe("07EF020F06081F00");
  });

  test("the offset survives a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "policy-clock-"));
    try {
      hostClock.now = () => Date.UTC(2026, 0, 1, 0, 0, 0);
      const card = await openPolicyCard({ dataDir });
      await initializeCard(card);
      expect(await card.sw("80640A000807D0000101000000")).toBe("9000");
      await card.device.close();

      const reopened = await openPolicyCard({ dataDir });
      await reopened.select();
      expect(await reopened.verifyUserPin()).toBe("9000");
      expect(toHex((await reopened.raw("80640A0000")).data).toUpperCase()).toBe("07D0000106000000");
      await reopened.device.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(`${dataDir}.secret`, { force: true });
      await rm(`${dataDir}.issuer`, { recursive: true, force: true });
    }
  });

  test("out-of-range values change nothing", async () => {
    const card = await loggedIn();
    hostClock.now = () => Date.UTC(2026, 11, 4, 12, 0, 0);
    const before = toHex((await card.raw("80640A0000")).data);

    const bad = [
      "07EF0C0F06081E0F", // month 12
      "07EF011E01000000", // 30 February
      "07EF002001000000", // 32 January
      "07EF010F07081E0F", // weekday 7
      "07EF010F06181E0F", // hour 24
      "07EF010F06083C0F", // minute 60
      "07EF010F06081E3C", // second 60
      "07B1010F06081E0F", // year 1969
      "0834010F06081E0F", // year 2100
      "07EF0100060A0A0A", // day 0
    ];
    for (const value of bad) expect(await card.sw(`80640A0008${value}`), value).toBe("6A80");
    expect(await card.sw("80640A000707EF010F06081E")).toBe("6700");
    expect(toHex((await card.raw("80640A0000")).data)).toBe(before);
  });

  test("February 29 only in leap years", async () => {
    const card = await loggedIn();
    expect(await card.sw("80640A000807E8011D04000000")).toBe("9000");
    expect(await card.sw("80640A000807E9011D04000000")).toBe("6A80");
  });
});

describe("EXTRAS memory and hardware-only", () => {
  test("memory reports 5 counters", async () => {
    const card = await loggedIn();
    const response = await card.raw("8064050000");
    expect(response.swHex).toBe("9000");
    expect(response.data.length).toBe(20);
    const view = new DataView(response.data.buffer, response.data.byteOffset, 20);
    expect(view.getUint32(0) + view.getUint32(4)).toBe(view.getUint32(8));
    expect(view.getUint32(12)).toBeGreaterThan(3);
  });

  test("LED, OTP, reboot and unknown are 6A86", async () => {
    const card = await loggedIn();
    for (const p1 of ["1B", "4C", "FB", "77"]) expect(await card.sw(`8064${p1}0000`), p1).toBe("6A86");
  });

  test("login is needed", async () => {
    const card = await loggedIn();
    await card.select();
    expect(await card.sw("80640A0000")).toBe("6982");
    expect(await card.sw("8064050000")).toBe("6982");
  });
});

describe("EXTRAS secure lock", () => {
  const secret = sha256(new TextEncoder().encode("host secret"));

  async function sealedSecret(card: PolicyCard, value: Uint8Array): Promise<Uint8Array> {
    const hostKey = p256.utils.randomSecretKey();
    const hostPoint = p256.getPublicKey(hostKey, false);
    const response = await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x01, data: hostPoint, ne: 256 });
    expect(response.sw).toBe(0x9000);
    const shared = p256.getSharedSecret(hostKey, response.data).subarray(1);
    const okm = hkdf(sha256, shared, undefined, hostPoint, 44);
    return chacha20poly1305(okm.slice(12, 44), okm.slice(0, 12), hostPoint).encrypt(value);
  }

  async function lockCommand(card: PolicyCard, p2: number, value = secret): Promise<string> {
    const data = await sealedSecret(card, value);
    const { sw } = await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2, data });
    return sw.toString(16).toUpperCase();
  }

  test("enable, unlock, disable", async () => {
    const card = await loggedIn();
    expect(await lockCommand(card, 0x02)).toBe("9000");
    expect(await readOptions(card)).toBe("0401 9000");

    expect(await signHash(card, KEY_ID)).toBe("6400");
    expect(await lockCommand(card, 0x03, sha256(new TextEncoder().encode("other")))).toBe("6700");
    expect(await signHash(card, KEY_ID)).toBe("6400");
    expect(await lockCommand(card, 0x03)).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");

    await card.select();
    expect(await card.verifyUserPin()).toBe("9000");
    expect(await signHash(card, KEY_ID)).toBe("6400");

    expect(await lockCommand(card, 0x04, sha256(new TextEncoder().encode("other")))).toBe("6700");
    expect(await readOptions(card)).toBe("0401 9000");
    expect(await lockCommand(card, 0x04)).toBe("9000");
    expect(await readOptions(card)).toBe("0001 9000");
    expect(await signHash(card, KEY_ID)).toBe("9000");
  });

  test("INITIALIZE is refused while locked", async () => {
    const card = await loggedIn();
    expect(await lockCommand(card, 0x02)).toBe("9000");
    await card.select();
    await expect(initializeCard(card)).rejects.toThrow("6982");
  });

  test("agreement is used once", async () => {
    const card = await loggedIn();
    const data = await sealedSecret(card, secret);
    expect((await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x02, data })).sw).toBe(0x9000);
    expect((await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x04, data })).sw).toBe(0x6986);
  });

  test("bad host point and sealed secret", async () => {
    const card = await loggedIn();
    expect(await card.sw("80643A010304AABB")).toBe("6700");
    const offCurve = new Uint8Array(65).fill(1);
    offCurve[0] = 4;
    expect((await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x01, data: offCurve, ne: 256 })).sw).toBe(0x6700);
    expect((await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x02, data: new Uint8Array(48) })).sw).toBe(0x6986);

    const sealed = await sealedSecret(card, secret);
    sealed[0] ^= 1;
    expect((await card.send({ cla: 0x80, ins: 0x64, p1: 0x3a, p2: 0x02, data: sealed })).sw).toBe(0x6700);
    expect(await readOptions(card)).toBe("0001 9000");
  });
});
