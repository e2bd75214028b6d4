/**
 * Starts the virtual device as `npm start` would (deno with the permissions of
 * apps/vdevice's start script), on a fresh temporary data directory and secret
 * file (or on those of an earlier run), and stops it with SIGTERM.
 */

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { HSM_ATR, openscTool, SELECT_HSM, sendApdus, VPCD_PORT } from "./opensc.ts";
import { waitFor } from "./pcscd.ts";

const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const VDEVICE_DIR = join(REPO_ROOT, "apps", "vdevice");
const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");

/** Keeps this much of the device's log for failure messages. */
const MAX_LOG_CHARS = 200_000;

export interface RunningDevice {
  /** Temporary directory with the data directory (`data`) and the secret file. */
  readonly workDir: string;
  readonly dataDir: string;

  /** The device's stderr log so far (the end of it, when long). */
  log(): string;

  /**
   * Sends SIGTERM, waits for the exit, removes the temporary directory (unless
   * `keepWorkDir` was given) and returns the exit code.
   */
  stop(): Promise<number | null>;
}

export interface DeviceOptions {
  /** More vdevice CLI arguments, appended after the harness's own. */
  extraArgs?: readonly string[];

  /**
   * Work directory of an earlier run (its `data` directory and `device.secret`,
   * as `RunningDevice.workDir` names it) to start on instead of a fresh one.
   */
  workDir?: string;

  /** Whether stop() keeps the work directory, so another device can start on it. */
  keepWorkDir?: boolean;
}

/** Starts the device on the e2e reader and waits until OpenSC recognizes it and an APDU reaches it. */
export async function startDevice(name = "e2e", options: DeviceOptions = {}): Promise<RunningDevice> {
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "vdevice-e2e-")));
  const dataDir = join(workDir, "data");
  const args = [
    ...(await startCommand()),
    "--name", name,
    "--data-dir", dataDir,
    "--secret-file", join(workDir, "device.secret"),
    "--vpcd", `127.0.0.1:${VPCD_PORT}`,
    "--log-level", "debug",
    ...(options.extraArgs ?? []),
  ];

  const child = spawn(DENO, args, { cwd: VDEVICE_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-MAX_LOG_CHARS);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);

  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));

  const device: RunningDevice = {
    workDir,
    dataDir,
    log: () => log,
    stop: () => stopDevice(child, exited, options.keepWorkDir ? undefined : workDir),
  };

  try {
    await waitFor(async () => {
      if (!running) throw new Error("vdevice exited during start-up");
      return log.includes("vpcd connected");
    }, 30_000, "the device to connect to vpcd");

    await waitFor(() => cardAnswers(), 30_000, "OpenSC to see the device in its reader");
  } catch (error) {
    await device.stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- device log\n${log}`);
  }

  return device;
}

/**
 * Checks that OpenSC recognizes the card and that an APDU reaches it. The ATR
 * alone is not proof: pcscd keeps reporting a card for up to one presence poll
 * (about 0.4 s) after the previous device has gone.
 */
async function cardAnswers(): Promise<boolean> {
  const result = await openscTool(["-an"]);
  if (result.status !== 0 || !result.stdout.includes(HSM_ATR)) return false;

  const statusWords = await sendApdus([SELECT_HSM]).catch(() => []);
  return statusWords[0] === "9000";
}

/** Returns the deno arguments of apps/vdevice's start script, so the permissions stay in one place. */
async function startCommand(): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(VDEVICE_DIR, "package.json"), "utf8")) as { scripts: { start: string } };
  const words = manifest.scripts.start.trim().split(/\s+/);

  if (words[0] !== "deno") throw new Error(`apps/vdevice start script does not begin with deno: ${manifest.scripts.start}`);
  return words.slice(1);
}

/** Stops the device and removes `workDir` when given. */
async function stopDevice(child: ChildProcess, exited: Promise<number | null>, workDir: string | undefined): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");

  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const code = await exited;
  clearTimeout(timer);

  // Let pcscd see the card go before the next device takes the reader. When it
  // does not within the timeout, the next start-up check still catches a stale card.
  await waitFor(async () => (await openscTool(["-a"])).status !== 0, 5_000, "pcscd to see the card removed").catch(() => {});

  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  return code;
}
