/**
 * The reader the end-to-end device uses, and the OpenSC tools pointed at it.
 *
 * vpcd adds two readers to pcscd: "Virtual PCD 00 00" on TCP port 35963 (the
 * default of `npm start`) and "Virtual PCD 00 01" on 35964. The tests use the
 * second, so a device someone runs with the defaults stays untouched. Every tool
 * call names the reader, because OpenSC would otherwise take the first one with
 * a card.
 */

import { existsSync } from "node:fs";

import { run } from "./run.ts";
import type { RunResult } from "./run.ts";

export const VPCD_PORT = 35964;
export const READER = "Virtual PCD 00 01";

/** The public default PINs of the SmartCard-HSM documentation (SO-PIN as 16 hex digits). */
export const SO_PIN = "3537363231383830";
export const USER_PIN = "648219";

/** The SmartCard-HSM ATR as opensc-tool prints it. */
export const HSM_ATR = "3b:fe:18:00:00:81:31:fe:45:80:31:81:54:48:53:4d:31:73:80:21:40:81:07:fa";

const PKCS11_MODULE_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
  "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
  "/usr/lib/opensc-pkcs11.so",
  "/usr/lib64/opensc-pkcs11.so",
];

/** Returns the path of OpenSC's PKCS#11 module. */
export function pkcs11Module(): string {
  const found = PKCS11_MODULE_CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(`opensc-pkcs11.so not found in ${PKCS11_MODULE_CANDIDATES.join(", ")}: install opensc-pkcs11`);
  }
  return found;
}

export function openscTool(args: readonly string[]): Promise<RunResult> {
  return run("opensc-tool", ["--reader", READER, ...args]);
}

export function scHsmTool(args: readonly string[]): Promise<RunResult> {
  return run("sc-hsm-tool", ["--reader", READER, ...args]);
}

export function pkcs15Tool(args: readonly string[]): Promise<RunResult> {
  return run("pkcs15-tool", ["--reader", READER, ...args]);
}

export function pkcs11Tool(args: readonly string[], cwd?: string): Promise<RunResult> {
  return run("pkcs11-tool", ["--module", pkcs11Module(), "--slot-description", READER, ...args], { cwd });
}

/**
 * Sends APDUs (hex, spaces allowed) in one opensc-tool session and returns the
 * status word of each as four hex digits, e.g. "63C2".
 */
export async function sendApdus(apdus: readonly string[]): Promise<string[]> {
  const result = await openscTool(apdus.flatMap((apdu) => ["--send-apdu", apdu]));
  const output = result.stdout + result.stderr;
  const statusWords = [...output.matchAll(/Received \(SW1=0x([0-9a-f]{2}), SW2=0x([0-9a-f]{2})\)/gi)].map(
    (match) => (match[1] + match[2]).toUpperCase(),
  );

  if (statusWords.length !== apdus.length) {
    throw new Error(`opensc-tool returned ${statusWords.length} status words for ${apdus.length} APDUs:\n${output}`);
  }
  return statusWords;
}

/** SELECT of the SmartCard-HSM applet by its AID E8 2B 06 01 04 01 81 C3 1F 02 01, asking for the FCP. */
export const SELECT_HSM = "00 A4 04 00 0B E8 2B 06 01 04 01 81 C3 1F 02 01 00";
