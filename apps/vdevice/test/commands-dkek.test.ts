// KEY DOMAIN (INS 52) across restarts of a directory-backed device, the
// rejections that must leave storage untouched, and the device secret that
// the data directory cannot be opened without.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { combineDkekShares, dkekKcv } from "@hsmkit/keystore";
import { toHex } from "@hsmkit/tlv";

import { createDevice, type VirtualDevice } from "../src/device.ts";
import type { HsmState } from "../src/hsm/context.ts";
import { ascii, openCardWithState, SO_PIN_HEX, TestCard, TEST_SCRYPT, USER_PIN, withLc } from "./hsm-harness.ts";

const SHARE_A = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const SHARE_B = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);

let root: string;
let devices: VirtualDevice[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vdevice-dkek-"));
});

afterEach(async () => {
  for (const device of devices) await device.close().catch(() => {});
  devices = [];
  await rm(root, { recursive: true, force: true });
});

async function openDirectoryCard(secretFile = join(root, "device.secret")): Promise<TestCard> {
  const device = await createDevice({ dataDir: join(root, "data"), secretFile, scrypt: TEST_SCRYPT });
  devices.push(device);
  const card = new TestCard(device);
  expect((await card.selectApplet()).swHex).toBe("9000");
  return card;
}

async function closeAll(): Promise<void> {
  for (const device of devices) await device.close();
  devices = [];
}

function importShare(card: TestCard, share: Uint8Array, domain = "00") {
  return card.send(withLc(`805200${domain}`, toHex(share)) + "00");
}

describe("DKEK shares across restarts", () => {
  it("keep a partial accumulator and complete it after a restart", async () => {
    let card = await openDirectoryCard();
    await card.send(withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 920102`));
    expect((await importShare(card, SHARE_A)).hex).toBe(`0201${toHex(dkekKcv(SHARE_A)).toUpperCase()}`);
    await closeAll();

    card = await openDirectoryCard();
    expect((await card.send("8052000000")).hex).toBe(`0201${toHex(dkekKcv(SHARE_A)).toUpperCase()}`);
    const dkek = combineDkekShares([SHARE_A, SHARE_B]);
    expect((await importShare(card, SHARE_B)).hex).toBe(`0200${toHex(dkekKcv(dkek)).toUpperCase()}`);
    await closeAll();

    card = await openDirectoryCard();
    expect(await card.login()).toBe("9000");
    expect((await card.send("8052000000")).hex).toBe(`0200${toHex(dkekKcv(dkek)).toUpperCase()}`);
  });

  it("cannot be opened with another device secret", async () => {
    const card = await openDirectoryCard();
    await card.send(withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 920101`));
    await importShare(card, SHARE_A);
    await closeAll();

    const otherSecret = join(root, "other.secret");
    await writeFile(otherSecret, crypto.getRandomValues(new Uint8Array(32)), { mode: 0o600 });
    await expect(createDevice({ dataDir: join(root, "data"), secretFile: otherSecret, scrypt: TEST_SCRYPT })).rejects.toThrow();
  });
});

describe("KEY DOMAIN rejections", () => {
  async function snapshot(state: HsmState): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of (await state.keystore.list()).sort()) out.set(name, toHex((await state.keystore.getFile(name)) ?? new Uint8Array()));
    return out;
  }

  it("answer the spec's status word and change nothing", async () => {
    const { card, state } = await openCardWithState();
    await card.selectApplet();
    await card.send(withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 970102`));
    await card.selectApplet();
    await card.login();
    expect((await card.send(withLc("80520100", "01") + "00")).swHex).toBe("9000");
    expect((await importShare(card, SHARE_A)).swHex).toBe("9000");
    const before = await snapshot(state);

    const cases: [string, string, string][] = [
      ["share of 31 bytes", withLc("80520000", toHex(SHARE_A.subarray(0, 31))), "6700"],
      ["share into a complete domain", withLc("80520000", toHex(SHARE_B)) + "00", "6986"],
      ["share into an unset domain", withLc("80520001", toHex(SHARE_B)) + "00", "6986"],
      ["status of an unset domain", "8052000100", "6A88"],
      ["domain 16", "8052001000", "6B00"],
      ["domain beyond the table", "8052000200", "6A86"],
      ["create with 2 data bytes", withLc("80520101", "0102"), "6700"],
      ["create an existing domain", withLc("80520100", "01"), "6A86"],
      ["delete an unset domain", "80520301", "6A86"],
      ["unknown P1", "8052050000", "6A86"],
    ];
    for (const [what, apdu, sw] of cases) expect(await card.sw(apdu), what).toBe(sw);

    expect(await snapshot(state)).toEqual(before);
  });

  it("need the user PIN to create, delete or clear", async () => {
    const { card } = await openCardWithState();
    await card.selectApplet();
    await card.send(withLc("80500000", `80020001 8106${ascii(USER_PIN)} 8208${SO_PIN_HEX} 910103 970102`));
    await card.selectApplet();

    for (const apdu of [withLc("80520101", "01"), "80520300", "80520400"]) expect(await card.sw(apdu), apdu).toBe("6985");
  });
});
