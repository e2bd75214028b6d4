/**
 * Runs once around the end-to-end files. It takes a machine-wide lock, because
 * two runs at once would share the vpcd reader and restart each other's pcscd,
 * and makes sure pcscd serves the vpcd reader the device uses.
 */

import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";

import { VPCD_PORT } from "./opensc.ts";
import { ensurePcscd } from "./pcscd.ts";

const LOCK_DIR = "/tmp/hsmkit-e2e.lock";
const LOCK_WAIT_MS = 10 * 60_000;

export default async function setup(): Promise<() => Promise<void>> {
  await acquireLock();

  try {
    const outcome = await ensurePcscd(VPCD_PORT);
    console.log(`e2e: pcscd ${outcome === "started" ? "started" : "already running"}`);
  } catch (error) {
    await releaseLock();
    throw error;
  }

  return releaseLock;
}

/** Creates LOCK_DIR (mkdir is atomic) with this PID inside, waiting while a live process owns it. */
async function acquireLock(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;

  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(`${LOCK_DIR}/pid`, String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }

    const holder = Number((await readFile(`${LOCK_DIR}/pid`, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }

    if (Date.now() > deadline) {
      throw new Error(`another end-to-end run (pid ${holder || "unknown"}) holds ${LOCK_DIR}: wait for it, or remove the directory if no run is left`);
    }
    if (!announced) {
      console.log(`e2e: waiting for another end-to-end run (pid ${holder || "unknown"}) to finish`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function releaseLock(): Promise<void> {
  await rm(LOCK_DIR, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
