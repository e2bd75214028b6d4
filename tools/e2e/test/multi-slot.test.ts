// Two independent devices in one vdevice process, one per vpcd slot ("Virtual
// PCD 00 00" on port 35963 and "Virtual PCD 00 01" on 35964, the two readers
// Debian's vpcd registers), each with its own data directory. OpenSC lists
// both, and a key generated on one is invisible on the other.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { HSM_ATR, pkcs11Module, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { waitFor } from "../src/pcscd.ts";
import { run } from "../src/run.ts";
import type { RunResult } from "../src/run.ts";

const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const VDEVICE_DIR = join(REPO_ROOT, "apps", "vdevice");
const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");

const DEVICES = [
  { name: "alpha", slot: 0, reader: "Virtual PCD 00 00" },
  { name: "beta", slot: 1, reader: "Virtual PCD 00 01" },
] as const;

let workDir: string;
let child: ChildProcess | undefined;
let exited: Promise<number | null>;
let log = "";

function expectSuccess(result: RunResult): void {
  expect(result.status, `exit status; stdout:\n${result.stdout}\nstderr:\n${result.stderr}\ndevice log:\n${log.slice(-3000)}`).toBe(0);
}

/** Returns `opensc-tool -l` as a map from reader name to whether it reports a card. */
async function listReaders(): Promise<Map<string, boolean>> {
  const result = await run("opensc-tool", ["-l"]);
  const readers = new Map<string, boolean>();
  for (const match of result.stdout.matchAll(/^\d+\s+(Yes|No)\s+.*?(Virtual PCD \d\d \d\d)\s*$/gm)) {
    readers.set(match[2], match[1] === "Yes");
  }
  return readers;
}

function pkcs11(reader: string, args: readonly string[]): Promise<RunResult> {
  return run("pkcs11-tool", ["--module", pkcs11Module(), "--slot-description", reader, ...args], { cwd: workDir });
}

async function listObjectLabels(reader: string): Promise<string[]> {
  const result = await pkcs11(reader, ["--login", "--pin", USER_PIN, "--list-objects"]);
  expectSuccess(result);
  return [...result.stdout.matchAll(/^\s*label:\s*(.+?)\s*$/gm)].map((match) => match[1]);
}

async function startTwoDevices(): Promise<void> {
  const manifest = JSON.parse(await readFile(join(VDEVICE_DIR, "package.json"), "utf8")) as { scripts: { start: string } };
  const startArgs = manifest.scripts.start.trim().split(/\s+/).slice(1);
  const deviceArgs = DEVICES.flatMap(({ name, slot }) => [
    "--device",
    // One shared issuer puts both devices under one root, as PKA registration needs.
    `name=${name},slot=${slot},data-dir=${join(workDir, name)},secret-file=${join(workDir, `${name}.secret`)},issuer=${join(workDir, "issuer")}`,
  ]);

  child = spawn(DENO, [...startArgs, ...deviceArgs, "--log-level", "debug"], { cwd: VDEVICE_DIR, stdio: ["ignore", "pipe", "pipe"] });
  const append = (chunk: Buffer) => (log = (log + chunk.toString("utf8")).slice(-200_000));
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  exited = new Promise((resolve) => child!.on("exit", (code) => resolve(code)));

  await waitFor(async () => {
    if (child!.exitCode !== null) throw new Error(`vdevice exited during start-up:\n${log}`);
    return DEVICES.every(({ name }) => new RegExp(`vpcd connected.*device=${name}\\b`).test(log));
  }, 30_000, "both devices to connect to vpcd");

  await waitFor(async () => [...(await listReaders()).values()].filter(Boolean).length === DEVICES.length, 30_000, "pcscd to see both cards");
}

beforeAll(async () => {
  // Slot 0 is the reader `npm start` uses; a device someone runs there would make this test drive it.
  const before = await listReaders();
  if (before.get(DEVICES[0].reader)) {
    throw new Error(`${DEVICES[0].reader} already has a card: stop the device running on port 35963 (npm start) and run this test again`);
  }

  workDir = await mkdtemp(join(tmpdir(), "vdevice-multi-slot-"));
  await startTwoDevices();
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child!.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    await waitFor(async () => [...(await listReaders()).values()].every((present) => !present), 5_000, "pcscd to see the cards removed").catch(() => {});
  }
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe("two devices in one process", () => {
  test("opensc-tool -l lists both cards", async () => {
    const readers = await listReaders();
    for (const { reader } of DEVICES) expect(readers.get(reader), `${reader} in opensc-tool -l`).toBe(true);

    for (const { reader } of DEVICES) {
      const atr = await run("opensc-tool", ["--reader", reader, "--atr"]);
      expectSuccess(atr);
      expect(atr.stdout).toContain(HSM_ATR);
    }
  });

  test("keys made on one are invisible on the other", async () => {
    for (const { reader } of DEVICES) {
      expectSuccess(await run("sc-hsm-tool", ["--reader", reader, "--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]));
    }

    for (const { name, reader } of DEVICES) {
      expectSuccess(await pkcs11(reader, ["--login", "--pin", USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "01", "--label", `${name}-key`]));
    }

    for (const { name, reader } of DEVICES) {
      const labels = await listObjectLabels(reader);
      const others = DEVICES.filter((other) => other.name !== name).map((other) => `${other.name}-key`);
      expect(labels, `objects on ${reader}`).toContain(`${name}-key`);
      for (const label of others) expect(labels, `objects on ${reader}`).not.toContain(label);
    }
  });

  test("sc-hsm-tool registers the other device's key for PKA", async () => {
    const [authenticator, device] = DEVICES;
    const request = join(workDir, "authenticator.cvreq");
    expectSuccess(await run("sc-hsm-tool", ["--reader", authenticator.reader, "--export-for-pub-key-auth", request, "--key-reference", "1"]));

    expectSuccess(
      await run("sc-hsm-tool", [
        "--reader", device.reader, "--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN,
        "--public-key-auth", "1", "--required-pub-keys", "1",
      ]),
    );
    const registered = await run("sc-hsm-tool", ["--reader", device.reader, "--register-public-key", request]);
    expectSuccess(registered);
    expect(registered.stdout).toMatch(/Missing public keys:\s*0/);

    const status = await run("sc-hsm-tool", ["--reader", device.reader, "--public-key-auth-status"]);
    expect(status.stdout).toMatch(/Number of public keys:\s*1/);
    expect(status.stdout).toMatch(/Missing public keys:\s*0/);
  });

  test("each device writes only its own data directory", async () => {
    for (const { name } of DEVICES) {
      const files = await readdir(join(workDir, name), { recursive: true });
      expect(files.length, `files in ${name}'s data directory`).toBeGreaterThan(0);
    }
    expect(log).toMatch(/device ready.*device=alpha/);
    expect(log).toMatch(/device ready.*device=beta/);
  });

  test("SIGTERM stops both devices", async () => {
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    for (const { name } of DEVICES) expect(log).toMatch(new RegExp(`vdevice stopped.*device=${name}\\b`));
  });
});
