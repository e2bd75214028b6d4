/** Command-line options of the bench. */

import { parseArgs } from "node:util";

/** Source of the measured device: started by the bench, already attached, or none. */
export type DeviceMode = "start" | "attached" | "none";

export interface BenchOptions {
  /** Seconds each rate is counted for. */
  durationSeconds: number;
  /** Untimed calls before each rate measurement. */
  warmupCount: number;
  keygenRuns: number;
  device: DeviceMode;
  /** vpcd port the started vdevice connects to. */
  vpcdPort: number;
  reader: string;
  softhsm: boolean;
  /** Path of the JSON report; undefined for the default path. */
  jsonPath: string | undefined;
  markdown: boolean;
  keepTemp: boolean;
  help: boolean;
}

/** vpcd's first port; vpcd names the reader of port 35963 + N "Virtual PCD 00 0N". */
export const VPCD_BASE_PORT = 35963;
const VPCD_READER_PREFIX = "Virtual PCD 00 0";
const VPCD_SLOTS = 2;

export const USAGE = `Usage: npm run bench -- [options]

Measures the vdevice through pcscd (SELECT round trips) and through OpenSC's PKCS#11 module
(ECDSA P-256 and RSA-2048 signatures, RSA-2048 key generation), and the same PKCS#11 workload
on a temporary SoftHSMv2 token. Prints a table and writes a JSON report.

Options:
  --duration SECONDS   time each rate is counted for (default 5)
  --warmup COUNT       untimed calls before each rate measurement (default 20)
  --keygen-runs COUNT  RSA-2048 key generations whose median is reported (default 5)
  --device MODE        start: start a vdevice on a temporary data directory and initialize it
                         (the default); attached: use the card already in --reader, which must
                         be initialized with user PIN 648219; none: measure SoftHSMv2 only
  --vpcd-port PORT     vpcd port the started vdevice connects to: 35963 (the default) or 35964
  --reader NAME        PC/SC reader of the device (default: vpcd's reader of --vpcd-port,
                         "Virtual PCD 00 00" for 35963 and "Virtual PCD 00 01" for 35964)
  --no-softhsm         skip the SoftHSMv2 reference
  --json PATH          JSON report path (default tools/bench/results/latest.json)
  --markdown           also print the run as a BENCHMARKS.md section
  --keep-temp          keep the temporary directory (token, device data, device log)
  --help               print this help
`;

/** Parses `args` (without the program name); throws an error naming the bad option. */
export function parseOptions(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "20" },
      "keygen-runs": { type: "string", default: "5" },
      device: { type: "string", default: "start" },
      "vpcd-port": { type: "string", default: String(VPCD_BASE_PORT) },
      reader: { type: "string" },
      "no-softhsm": { type: "boolean", default: false },
      json: { type: "string" },
      markdown: { type: "boolean", default: false },
      "keep-temp": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });

  const vpcdPort = vpcdPortNumber(values["vpcd-port"]);
  return {
    durationSeconds: positiveNumber("--duration", values.duration),
    warmupCount: count("--warmup", values.warmup, 0),
    keygenRuns: count("--keygen-runs", values["keygen-runs"], 1),
    device: deviceMode(values.device),
    vpcdPort,
    reader: values.reader ?? `${VPCD_READER_PREFIX}${vpcdPort - VPCD_BASE_PORT}`,
    softhsm: !values["no-softhsm"],
    jsonPath: values.json,
    markdown: values.markdown,
    keepTemp: values["keep-temp"],
    help: values.help,
  };
}

function positiveNumber(option: string, text: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`invalid ${option} "${text}": expected a number above 0`);
  return value;
}

function count(option: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!(Number.isInteger(value) && value >= minimum)) {
    throw new Error(`invalid ${option} "${text}": expected an integer of at least ${minimum}`);
  }
  return value;
}

function vpcdPortNumber(text: string): number {
  const port = Number(text);
  if (!(Number.isInteger(port) && port >= VPCD_BASE_PORT && port < VPCD_BASE_PORT + VPCD_SLOTS)) {
    throw new Error(`invalid --vpcd-port "${text}": expected ${VPCD_BASE_PORT} or ${VPCD_BASE_PORT + 1}`);
  }
  return port;
}

function deviceMode(text: string): DeviceMode {
  if (text === "start" || text === "attached" || text === "none") return text;
  throw new Error(`invalid --device "${text}": expected start, attached or none`);
}
