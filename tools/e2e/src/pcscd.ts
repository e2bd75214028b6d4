/**
 * pcscd, the PC/SC daemon, with the vpcd reader driver: finding, starting and
 * restarting it. There is no systemd in CI, so pcscd is started by hand; it forks
 * into the background and reads its readers from /etc/reader.conf.d.
 */

import { readdir, readFile } from "node:fs/promises";
import process from "node:process";

import { runOk } from "./run.ts";

/** pcscd writes the PID of its daemon process here. */
const PID_FILE = "/run/pcscd/pcscd.pid";

/**
 * Returns the PID of the running pcscd daemon, or undefined when none runs. The
 * PID file comes first: while pcscd starts, its short-lived parent process also
 * has the name pcscd.
 */
export async function findPcscd(): Promise<number | undefined> {
  const recorded = Number((await readFile(PID_FILE, "utf8").catch(() => "")).trim());
  if (Number.isInteger(recorded) && recorded > 0 && (await isPcscd(recorded))) return recorded;

  for (const entry of await readdir("/proc")) {
    if (/^\d+$/.test(entry) && (await isPcscd(Number(entry)))) return Number(entry);
  }
  return undefined;
}

async function isPcscd(pid: number): Promise<boolean> {
  // A missing entry means the process has ended.
  const name = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
  return name.trim() === "pcscd";
}

/** Checks /proc/net/tcp for a listening socket on `port` (vpcd listens once pcscd has loaded it). */
export async function isListening(port: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const tables = await Promise.all(["/proc/net/tcp", "/proc/net/tcp6"].map((path) => readFile(path, "utf8").catch(() => "")));

  return tables.some((table) =>
    table.split("\n").some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1]?.endsWith(`:${hexPort}`) && fields[3] === "0A"; // 0A is TCP_LISTEN.
    })
  );
}

/** Starts pcscd unless it runs, then waits until vpcd listens on `port`. */
export async function ensurePcscd(port: number): Promise<"running" | "started"> {
  let outcome: "running" | "started" = "running";

  if ((await findPcscd()) === undefined) {
    if (process.getuid?.() !== 0) {
      throw new Error("pcscd is not running and only root can start it: run tools/setup.sh as root, or `sudo pcscd`");
    }
    await runOk("pcscd", []);
    outcome = "started";
  }

  await waitFor(() => isListening(port), 10_000, `vpcd to listen on port ${port} (is vsmartcard-vpcd installed?)`);
  return outcome;
}

/** Stops pcscd with SIGTERM, waits for it to exit, and starts it again. */
export async function restartPcscd(port: number): Promise<void> {
  const pid = await findPcscd();

  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    await waitFor(async () => (await findPcscd()) === undefined, 10_000, `pcscd (pid ${pid}) to exit`);
  }

  await ensurePcscd(port);
}

/** Polls `condition` every 100 ms; throws when it stays false for `timeoutMs`. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;

  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
