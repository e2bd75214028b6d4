/**
 * HD masters on a real data directory: sealed (no seed, key or chain code in
 * any file), kept across a restart, replaced by a second creation, erased by
 * INITIALIZE, and untouched by a rejected creation.
 */
import { afterEach, describe, expect, test } from "vitest";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Slip10Node, Slip21Node } from "@hsmkit/hd-keys";
import { fromHex, toHex } from "@hsmkit/tlv";
import { openTestCard, type TestCard, withLc } from "./hsm-harness.ts";

const SEED = "000102030405060708090a0b0c0d0e0f";
const OTHER_SEED = "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a2";

const directories: string[] = [];

afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function newPaths(): Promise<{ dataDir: string; secretFile: string }> {
  const root = await mkdtemp(join(tmpdir(), "vdevice-hd-"));
  directories.push(root);
  return { dataDir: join(root, "data"), secretFile: join(root, "device.secret") };
}

async function openLoggedIn(paths: { dataDir: string; secretFile: string }, initialize: boolean): Promise<TestCard> {
  const card = await openTestCard(paths);
  await card.selectApplet();
  if (initialize) expect((await card.initialize()).swHex).toBe("9000");
  await card.selectApplet();
  expect(await card.login()).toBe("9000");
  return card;
}

/** Reads every file of the data directory and returns its content as lower-case hex, by file name. */
async function directoryHex(dataDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dataDir)).sort()) out.set(name, toHex(await readFile(join(dataDir, name))).toLowerCase());
  return out;
}

/** Sends P1 = 0A for master `id` at m and returns the 78- or 77-byte response as hex, or the SW. */
async function masterAnswer(card: TestCard, id: number): Promise<string> {
  const response = await card.send(withLc("804A0A00", `0201${id.toString(16).padStart(2, "0")}`) + "00");
  return response.sw === 0x9000 ? response.hex : response.swHex;
}

describe("HD masters at rest", () => {
  test("no seed, private key or chain code appears in any file", async () => {
    const paths = await newPaths();
    const card = await openLoggedIn(paths, true);
    expect(await card.sw(withLc("804A0200", SEED))).toBe("9000");
    expect(await card.sw(withLc("804A0301", SEED))).toBe("9000");

    const curve = Slip10Node.fromMasterSeed("nist256p1", fromHex(SEED));
    const symmetric = Slip21Node.fromMasterSeed(fromHex(SEED));
    const secrets = [SEED, curve.privateKey!, curve.chainCode, symmetric.key, symmetric.derivationKey].map((value) =>
      typeof value === "string" ? value : toHex(value).toLowerCase(),
    );

    const files = await directoryHex(paths.dataDir);
    expect([...files.keys()]).toContain("hd%2Fmaster%2F0.rec");
    expect([...files.keys()]).toContain("hd%2Fmaster%2F1.rec");
    for (const [name, content] of files) {
      for (const secret of secrets) expect(content.includes(secret), `${name} contains ${secret.slice(0, 8)}…`).toBe(false);
    }
    await card.device.close();
  });

  test("a master survives a restart and a second creation replaces it", async () => {
    const paths = await newPaths();
    let card = await openLoggedIn(paths, true);
    expect(await card.sw(withLc("804A0100", SEED))).toBe("9000");
    const first = await masterAnswer(card, 0);
    expect(first).toHaveLength(156);
    await card.device.close();

    card = await openLoggedIn(paths, false);
    expect(await masterAnswer(card, 0)).toBe(first);

    expect(await card.sw(withLc("804A0100", OTHER_SEED))).toBe("9000");
    expect(await masterAnswer(card, 0)).not.toBe(first);
    await card.device.close();
  });

  test("INITIALIZE erases the masters", async () => {
    const paths = await newPaths();
    const card = await openLoggedIn(paths, true);
    expect(await card.sw(withLc("804A0103", SEED))).toBe("9000");
    expect(await masterAnswer(card, 3)).toHaveLength(156);

    await card.selectApplet();
    expect((await card.initialize()).swHex).toBe("9000");
    await card.selectApplet();
    expect(await card.login()).toBe("9000");
    expect(await masterAnswer(card, 3)).toBe("6A88");
    await card.device.close();
  });

  test("a rejected creation leaves every file unchanged", async () => {
    const paths = await newPaths();
    const card = await openLoggedIn(paths, true);
    expect(await card.sw(withLc("804A0100", SEED))).toBe("9000");
    const before = await directoryHex(paths.dataDir);

    expect(await card.sw(withLc("804A0100", "00".repeat(15)))).toBe("6700");
    expect(await card.sw(withLc("804A010A", SEED))).toBe("6A86");

    const after = await directoryHex(paths.dataDir);
    const recordsOnly = (files: Map<string, string>) => new Map([...files].filter(([name]) => name.endsWith(".rec")));
    expect(recordsOnly(after)).toEqual(recordsOnly(before));
    await card.device.close();
  });
});
