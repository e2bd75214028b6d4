/**
 * The device on a real data directory: state survives a restart, and a rejected
 * command leaves every stored file byte-identical (a wrong PIN changes only
 * its own retry counter record).
 */
import { afterEach, describe, expect, test } from "vitest";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toHex } from "@hsmkit/tlv";
import { ascii, openTestCard, SO_PIN_HEX, TestCard, USER_PIN, withLc } from "./hsm-harness.ts";

const directories: string[] = [];

afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function newDataDir(): Promise<{ dataDir: string; secretFile: string }> {
  const root = await mkdtemp(join(tmpdir(), "vdevice-hsm-"));
  directories.push(root);
  return { dataDir: join(root, "data"), secretFile: join(root, "device.secret") };
}

/** Returns every record file of the data directory with its content as hex (the lock file is left out). */
async function snapshot(dataDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dataDir)).sort()) {
    if (!name.endsWith(".rec")) continue;
    out.set(name, toHex(await readFile(join(dataDir, name))));
  }
  return out;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}

async function initializedDirectoryCard(): Promise<{ card: TestCard; dataDir: string; secretFile: string }> {
  const paths = await newDataDir();
  const card = await openTestCard(paths);
  await card.selectApplet();
  expect((await card.initialize(1)).swHex).toBe("9000");
  await card.selectApplet();
  return { card, ...paths };
}

describe("device on a data directory", () => {
  test("identity, files and PIN counter survive a restart", async () => {
    const { card, dataDir, secretFile } = await initializedDirectoryCard();
    const chain = await card.readFile("2F02");
    await card.login();
    expect(await card.sw(withLc("00D7CF01", "54020000 5303 010203"))).toBe("9000");
    await card.selectApplet();
    expect(await card.login("000000")).toBe("63C2");
    await card.device.close();

    const reopened = await openTestCard({ dataDir, secretFile });
    await reopened.selectApplet();
    expect(toHex(await reopened.readFile("2F02"))).toBe(toHex(chain));
    expect((await reopened.send("00B1CF0104 54020000 00")).hex).toBe("010203");
    expect(await reopened.sw("00200081")).toBe("63C2");
    expect((await reopened.send("00A404000BE82B0601040181C31F020100")).hex.endsWith("85050001FF0606")).toBe(true);
    expect(await reopened.login()).toBe("9000");
    await reopened.device.close();
  });

  test("PIN-protected data is sealed at rest", async () => {
    const { card, dataDir, secretFile } = await initializedDirectoryCard();
    const marker = ascii("TOPSECRET-private-payload");
    await card.login();
    expect(await card.sw(withLc("00D7CD01", `54020000 5319 ${marker}`))).toBe("9000");
    await card.device.close();

    for (const [name, content] of await snapshot(dataDir)) {
      expect(content.includes(marker), `${name} holds the payload in plain text`).toBe(false);
    }

    const reopened = await openTestCard({ dataDir, secretFile });
    await reopened.selectApplet();
    expect(await reopened.sw("00B1CD0104 54020000 00")).toBe("6982");
    await reopened.login();
    expect((await reopened.send("00B1CD0104 54020000 00")).hex).toBe(marker);
    await reopened.device.close();
  });

  test("a second device cannot open the same directory", async () => {
    const { card, dataDir, secretFile } = await initializedDirectoryCard();
    await expect(openTestCard({ dataDir, secretFile })).rejects.toThrow();
    await card.device.close();
  });

  test("rejected commands leave the directory byte-identical", async () => {
    const { card, dataDir } = await initializedDirectoryCard();
    await card.login();
    await card.send(withLc("80520000", "11".repeat(32)) + "00");
    await card.send(withLc("00D7CF01", "54020000 5303 010203"));
    const before = await snapshot(dataDir);

    const rejected: [string, string][] = [
      [withLc("00D7CF01", "54020009 5301 AA"), "6581"],
      [withLc("00D7C400", "54020000 5301 AA"), "6982"],
      ["00E40200022F03", "6986"],
      ["00E4020002CE00", "6982"],
      ["00E4020002CF09", "6A82"],
      [withLc("80500000", `8101${ascii("1")} 8201${ascii("2")} 910120`), "6A80"],
      [withLc("80520000", "22".repeat(32)) + "00", "6986"],
      [withLc("00240081", ascii(USER_PIN)), "6700"],
      [withLc("002C0281", ascii(USER_PIN)), "6985"],
      ["00B1100E04 54020000 00", "6982"],
      ["80FE0000", "6D00"],
    ];
    for (const [apdu, sw] of rejected) expect(await card.sw(apdu), apdu).toBe(sw);
    expect(changedFiles(before, await snapshot(dataDir))).toEqual([]);

    await card.selectApplet();
    expect(await card.sw(withLc("00D7CF02", "54020000 5300"))).toBe("6982");
    expect(changedFiles(before, await snapshot(dataDir))).toEqual([]);
    await card.device.close();
  });

  test("a wrong PIN changes only its retry counter record", async () => {
    const { card, dataDir } = await initializedDirectoryCard();
    const before = await snapshot(dataDir);
    expect(await card.login("000000")).toBe("63C2");
    const changed = changedFiles(before, await snapshot(dataDir));
    expect(changed.length).toBe(1);
    expect(changed[0]).toContain("pin");

    const afterWrong = await snapshot(dataDir);
    expect(await card.sw(withLc("00200088", "3030303030303030"))).toBe("63CE");
    expect(changedFiles(afterWrong, await snapshot(dataDir)).length).toBe(1);
    expect(await card.sw(withLc("00200088", SO_PIN_HEX))).toBe("9000");
    await card.device.close();
  });
});
