import { afterAll, beforeAll, expect, test } from "vitest";

import { HSM_ATR, openscTool, VPCD_PORT } from "../src/opensc.ts";
import { findPcscd, restartPcscd, waitFor } from "../src/pcscd.ts";
import { startDevice } from "../src/vdevice.ts";
import type { RunningDevice } from "../src/vdevice.ts";

let device: RunningDevice;

beforeAll(async () => {
  device = await startDevice("e2e-restart");
});

afterAll(async () => {
  await device?.stop();
});

function countLines(log: string, message: string): number {
  return log.split("\n").filter((line) => line.includes(message)).length;
}

test("device reconnects after pcscd restart", async () => {
  const before = await findPcscd();
  expect(before).toBeDefined();

  await restartPcscd(VPCD_PORT);
  expect(await findPcscd()).not.toBe(before);

  await waitFor(async () => {
    const result = await openscTool(["-an"]);
    return result.status === 0 && result.stdout.includes(HSM_ATR);
  }, 20_000, "opensc-tool -an to see the card after the restart");

  const result = await openscTool(["-an"]);
  expect(result.stdout).toContain("SmartCard-HSM");

  // The device log arrives through a pipe and may lag; the asserts below name what is missing.
  await waitFor(async () => countLines(device.log(), "vpcd connected") >= 2, 5_000, "the reconnect in the device log").catch(() => {});
  const log = device.log();
  expect(countLines(log, "vpcd disconnected"), log.slice(-3000)).toBeGreaterThanOrEqual(1);
  expect(countLines(log, "vpcd connected"), log.slice(-3000)).toBeGreaterThanOrEqual(2);
});
