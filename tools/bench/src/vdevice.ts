/**
 * Starts the virtual device (apps/vdevice) for a bench run, waits until pcscd reports its card,
 * initializes it with OpenSC's sc-hsm-tool, and stops it afterwards.
 */

import { spawn, execFile, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import type { PcscClient } from "./pcsc.ts";

const STOP_TIMEOUT_MS = 5000;
const POLL_INTERVAL_MS = 100;

/** A vdevice process started by `startVdevice`. */
export interface RunningVdevice {
  /** File that receives the device's stdout and stderr. */
  logPath: string;
  /** Describes how the process ended, or returns undefined while it runs. */
  exitDescription(): string | undefined;
  /** Stops the process group with SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts `npm start -- ARGS` at the repository root in its own process group, with its output
 * appended to `logPath`.
 */
export function startVdevice(repositoryRoot: string, args: string[], logPath: string): RunningVdevice {
  const log = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn("npm", ["start", "--", ...args], {
      cwd: repositoryRoot,
      stdio: ["ignore", log, log],
      detached: true,
    });
  } finally {
    closeSync(log);
  }

  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on("exit", (code, signal) => {
      exit = signal === null ? `exited with code ${code}` : `was ended by ${signal}`;
      resolve();
    });
    child.on("error", (error) => {
      exit = `failed to start: ${error.message}`;
      resolve();
    });
  });

  return {
    logPath,
    exitDescription: () => exit,
    stop: async () => {
      if (exit !== undefined || child.pid === undefined) return;

      signalGroup(child.pid, "SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
      if (!stopped) {
        signalGroup(child.pid, "SIGKILL");
        await exited;
      }
    },
  };
}

/**
 * Waits until `reader` has a card and connects to it. Stops waiting with an error after
 * `timeoutMs`, or as soon as `device` exits.
 */
export async function connectWhenPresent(
  pcsc: PcscClient,
  reader: string,
  timeoutMs: number,
  device: RunningVdevice,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pcsc.tryConnect(reader)) {
    const exit = device.exitDescription();
    if (exit !== undefined) {
      throw new Error(`the vdevice ${exit} before its card appeared in "${reader}"; its log:\n${tail(device.logPath)}`);
    }
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for a card in "${reader}": ` +
          `check that vpcd listens on the port the vdevice connects to; the vdevice log:\n${tail(device.logPath)}`,
      );
    }
    await delay(POLL_INTERVAL_MS);
  }
}

/** Initializes the SmartCard-HSM in `reader` with `sc-hsm-tool --initialize`, erasing its keys. */
export async function initializeSmartCardHsm(reader: string, soPin: string, userPin: string): Promise<void> {
  const args = ["--reader", reader, "--initialize", "--so-pin", soPin, "--pin", userPin];
  try {
    await promisify(execFile)("sc-hsm-tool", args, { timeout: 60_000 });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    // The error message of execFile repeats the command line, which contains the PINs.
    const output = `${failure.stdout ?? ""}${failure.stderr ?? ""}`.trim();
    throw new Error(`sc-hsm-tool --initialize failed on "${reader}": ${output || "no output"}`);
  }
}

/** Returns the last lines of a log file, for error messages. */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch (error) {
    return `(cannot read ${path}: ${(error as Error).message})`;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group has already exited.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
