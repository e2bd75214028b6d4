/**
 * `npm run bench`: measures the vdevice through pcscd and OpenSC's PKCS#11 module, and the same
 * PKCS#11 workload on a temporary SoftHSMv2 token, then prints a table and writes a JSON report.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { collectMachineInfo } from "./machine.ts";
import type { RateLoop } from "./measure.ts";
import { parseOptions, USAGE, VPCD_BASE_PORT, type BenchOptions } from "./options.ts";
import { PcscClient } from "./pcsc.ts";
import { runPkcs11Bench, type Pkcs11BenchResults } from "./pkcs11-bench.ts";
import { renderMarkdown, renderTable, type BenchReport, type MetricId, type TargetName } from "./report.ts";
import { runSelectBench } from "./select-bench.ts";
import { createSoftHsmToken } from "./softhsm.ts";
import { connectWhenPresent, initializeSmartCardHsm, startVdevice, type RunningVdevice } from "./vdevice.ts";

/** PINs of the bench's throwaway tokens; the device's are the ones its documentation uses. */
const USER_PIN = "648219";
const DEVICE_SO_PIN = "3537363231383830";
const SOFTHSM_SO_PIN = "35373632";
const SOFTHSM_TOKEN_LABEL = "hsmkit-bench";

const DEVICE_START_TIMEOUT_MS = 60_000;
const PKCS11_METRICS: MetricId[] = ["ecdsa-p256-sign", "rsa2048-sign", "rsa2048-keygen"];

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPOSITORY_ROOT = resolve(PACKAGE_DIR, "../..");

/** Directories searched for the PKCS#11 modules, Debian's multiarch directory first. */
const LIBRARY_DIRS = [`/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`, "/usr/lib", "/usr/local/lib"];

/** Actions that must run even when the run is interrupted (stopping the device, for one). */
const cleanups: (() => Promise<void> | void)[] = [];

async function main(args: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    command: ["npm run bench", ...(args.length > 0 ? ["--", ...args] : [])].join(" "),
    machine: collectMachineInfo(REPOSITORY_ROOT),
    settings: {
      durationSeconds: options.durationSeconds,
      warmupCount: options.warmupCount,
      keygenRuns: options.keygenRuns,
      reader: options.reader,
      device: options.device,
    },
    measurements: [],
    skipped: [],
  };

  const temporaryDir = mkdtempSync(join(tmpdir(), "hsmkit-bench-"));
  let failed = false;
  try {
    failed = (await measureDevice(options, temporaryDir, report)) || failed;
    failed = (await measureSoftHsm(options, temporaryDir, report)) || failed;
  } finally {
    await runCleanups();
    if (options.keepTemp || failed) {
      console.error(`bench: kept the temporary directory ${temporaryDir}`);
    } else {
      rmSync(temporaryDir, { recursive: true, force: true });
    }
  }

  const jsonPath = resolve(options.jsonPath ?? join(PACKAGE_DIR, "results", "latest.json"));
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);

  console.log(`\n${renderTable(report)}\n\nJSON report: ${jsonPath}`);
  if (options.markdown) console.log(`\n${renderMarkdown(report)}`);
  return failed ? 1 : 0;
}

/** Measures the device; returns true when a measurement failed (a deliberate skip is no failure). */
async function measureDevice(options: BenchOptions, temporaryDir: string, report: BenchReport): Promise<boolean> {
  const deviceMetrics: MetricId[] = ["select", ...PKCS11_METRICS];
  if (options.device === "none") {
    skip(report, "vdevice", deviceMetrics, "the run was started with --device none");
    return false;
  }

  const loop = rateLoop(options);
  let pcsc: PcscClient | undefined;
  try {
    pcsc = PcscClient.open();
    await connectDevice(pcsc, options, temporaryDir);

    log("vdevice", "measuring SELECT round trips");
    report.measurements.push(toRateMeasurement("select", "vdevice", runSelectBench(pcsc, loop)));
    pcsc.disconnect();

    const results = await runPkcs11Bench({
      modulePath: findLibrary("opensc-pkcs11.so", "opensc-pkcs11"),
      selectSlot: (slots) => {
        const slot = slots.find((candidate) => candidate.description.startsWith(options.reader));
        if (slot) return slot;
        const listed = slots.map((candidate) => `"${candidate.description}"`).join(", ") || "none";
        throw new Error(`OpenSC has no token in reader "${options.reader}" (slots with a token: ${listed})`);
      },
      userPin: USER_PIN,
      loop,
      keygenRuns: options.keygenRuns,
      log: (line) => log("vdevice", line),
    });
    recordPkcs11(report, "vdevice", results);
    return false;
  } catch (error) {
    reportFailure("vdevice", error);
    const measured = report.measurements.filter((measurement) => measurement.target === "vdevice");
    const remaining = deviceMetrics.filter((metric) => !measured.some((measurement) => measurement.metric === metric));
    skip(report, "vdevice", remaining, firstLine(error));
    return true;
  } finally {
    pcsc?.close();
    await runCleanups();
  }
}

/**
 * Connects `pcsc` to the device in `options.reader`. In `start` mode it first starts a vdevice
 * on a fresh data directory and initializes it with sc-hsm-tool.
 */
async function connectDevice(pcsc: PcscClient, options: BenchOptions, temporaryDir: string): Promise<void> {
  const readers = pcsc.listReaders();
  if (!readers.includes(options.reader)) {
    throw new Error(
      `reader "${options.reader}" not found (pcscd lists: ${readers.join(", ") || "none"}): ` +
        "install vsmartcard-vpcd and restart pcscd, or pass --reader",
    );
  }

  if (options.device === "attached") {
    if (!pcsc.tryConnect(options.reader)) throw new Error(`no card in "${options.reader}" for --device attached`);
    return;
  }

  if (pcsc.tryConnect(options.reader)) {
    pcsc.disconnect();
    throw new Error(
      `"${options.reader}" already has a card: stop the device connected to its vpcd port, ` +
        "or measure that device with --device attached",
    );
  }

  const deviceArgs = ["--data-dir", join(temporaryDir, "vdevice-data"), "--name", "hsmkit-bench"];
  if (options.vpcdPort !== VPCD_BASE_PORT) deviceArgs.push("--vpcd", `127.0.0.1:${options.vpcdPort}`);
  log("vdevice", `starting npm start -- ${deviceArgs.join(" ")}`);
  const device: RunningVdevice = startVdevice(REPOSITORY_ROOT, deviceArgs, join(temporaryDir, "vdevice.log"));
  cleanups.push(() => device.stop());

  await connectWhenPresent(pcsc, options.reader, DEVICE_START_TIMEOUT_MS, device);
  pcsc.disconnect();

  log("vdevice", "initializing the SmartCard-HSM with sc-hsm-tool --initialize");
  await initializeSmartCardHsm(options.reader, DEVICE_SO_PIN, USER_PIN);
  if (!pcsc.tryConnect(options.reader)) throw new Error(`the card left "${options.reader}" after sc-hsm-tool`);
}

/** Measures the SoftHSMv2 reference; returns true when a measurement failed. */
async function measureSoftHsm(options: BenchOptions, temporaryDir: string, report: BenchReport): Promise<boolean> {
  if (!options.softhsm) {
    skip(report, "softhsm", PKCS11_METRICS, "the run was started with --no-softhsm");
    return false;
  }

  try {
    log("softhsm", "initializing a token in a temporary SOFTHSM2_CONF directory");
    createSoftHsmToken(join(temporaryDir, "softhsm"), SOFTHSM_TOKEN_LABEL, SOFTHSM_SO_PIN, USER_PIN);

    const results = await runPkcs11Bench({
      modulePath: findLibrary("softhsm/libsofthsm2.so", "libsofthsm2"),
      selectSlot: (slots) => {
        const slot = slots.find((candidate) => candidate.tokenLabel === SOFTHSM_TOKEN_LABEL);
        if (slot) return slot;
        throw new Error(`SoftHSMv2 has no token labelled "${SOFTHSM_TOKEN_LABEL}"`);
      },
      userPin: USER_PIN,
      loop: rateLoop(options),
      keygenRuns: options.keygenRuns,
      log: (line) => log("softhsm", line),
    });
    recordPkcs11(report, "softhsm", results);
    return false;
  } catch (error) {
    reportFailure("softhsm", error);
    skip(report, "softhsm", PKCS11_METRICS, firstLine(error));
    return true;
  }
}

function rateLoop(options: BenchOptions): RateLoop {
  return { durationMs: options.durationSeconds * 1000, warmupCount: options.warmupCount };
}

function recordPkcs11(report: BenchReport, target: TargetName, results: Pkcs11BenchResults): void {
  report.measurements.push(
    toRateMeasurement("ecdsa-p256-sign", target, results.ecdsaP256Sign),
    toRateMeasurement("rsa2048-sign", target, results.rsa2048Sign),
    { metric: "rsa2048-keygen", target, value: results.rsa2048Keygen.medianSeconds, durations: results.rsa2048Keygen },
  );
}

function toRateMeasurement(metric: MetricId, target: TargetName, rate: Pkcs11BenchResults["rsa2048Sign"]) {
  return { metric, target, value: rate.perSecond, rate };
}

function skip(report: BenchReport, target: TargetName, metrics: MetricId[], reason: string): void {
  for (const metric of metrics) report.skipped.push({ metric, target, reason });
}

/** Finds a shared library in the usual directories; the error names the Debian package to install. */
function findLibrary(relativePath: string, debianPackage: string): string {
  const candidates = LIBRARY_DIRS.map((directory) => join(directory, relativePath));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new Error(`${relativePath} not found in ${LIBRARY_DIRS.join(", ")}: install the Debian package ${debianPackage}`);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      console.error(`bench: cleanup failed: ${(error as Error).message}`);
    }
  }
}

function log(target: TargetName, line: string): void {
  console.error(`[${target}] ${line}`);
}

function reportFailure(target: TargetName, error: unknown): void {
  console.error(`[${target}] failed: ${error instanceof Error ? error.message : String(error)}`);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal} received, stopping`);
    void runCleanups().finally(() => process.exit(130));
  });
}

process.exitCode = await main(process.argv.slice(2));
process.exit();
