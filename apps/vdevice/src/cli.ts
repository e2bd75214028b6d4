/**
 * Command-line parsing for the virtual device. Pure: it takes the arguments and
 * the environment, and returns the settings or a UsageError naming the bad value.
 */

import { BUTTON_FLAG_OPTIONS, BUTTON_USAGE, BUTTON_VALUE_OPTIONS, parseButtonOptions, spreadButtonSettings } from "./button/cli-options.ts";
import type { ButtonSettings } from "./button/setup.ts";
import { DEVICE_SPEC_FORMAT, expandDevices } from "./cli-devices.ts";
import { isLogLevel, LOG_LEVELS } from "./log.ts";
import type { LogLevel } from "./log.ts";
import { DEFAULT_VPCD_ADDRESS } from "./transport/vpcd.ts";
import type { VpcdAddress } from "./transport/vpcd.ts";

export interface DeviceSettings {
  /** Device name; also the last component of the default data directory. */
  name: string;
  dataDir: string;
  vpcd: VpcdAddress;
  logLevel: LogLevel;

  /** File holding the device secret; undefined lets the device use `<dataDir>.secret`. */
  secretFile?: string;

  /** Let INITIALIZE wipe an initialised device without its current SO-PIN (firmware behaviour). */
  reinitializeWithoutSoPin?: boolean;

  /** Issuer directory (root and DV); undefined lets the device use `<dataDir>.issuer`. */
  issuerDir?: string;
  /** Reject secure-messaging APDUs with 6E00, as the firmware does. */
  noSecureMessaging?: boolean;
  /** Refuse chip authentication (6400) until a PIN is verified, as the firmware does. */
  chipAuthenticationAfterVerify?: boolean;
  /** Press-to-confirm source and LED status line. */
  button?: ButtonSettings;
}

/**
 * `run` serves the devices; `print-chain` prints the certificate chain of the
 * one device and exits. `settings` is the first of `devices`.
 */
export type CommandLine = { kind: "help" } | { kind: "run" | "print-chain"; settings: DeviceSettings; devices: DeviceSettings[] };

/** A command-line mistake; main prints the message and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const DEFAULT_NAME = "default";

export const USAGE = `Usage: vdevice [options]

Runs a virtual SmartCard-HSM that PC/SC clients (OpenSC, pkcs11-tool) reach
through pcscd and its vpcd reader driver. Stop it with Ctrl-C (SIGINT) or SIGTERM.

Options:
  --name NAME           device name, [A-Za-z0-9._-], at most 64 characters
                        (default: ${DEFAULT_NAME})
  --data-dir DIR        directory for the device's state (default:
                        $XDG_DATA_HOME/vdevice/NAME, else ~/.local/share/vdevice/NAME)
  --secret-file FILE    file holding the device secret that seals the state
                        (default: DIR.secret beside the data directory DIR)
  --vpcd HOST:PORT      address of vpcd's listening socket (default:
                        ${DEFAULT_VPCD_ADDRESS.host}:${DEFAULT_VPCD_ADDRESS.port}, the reader "Virtual PCD 00 00";
                        port 35964 is "Virtual PCD 00 01")
  --log-level LEVEL     ${LOG_LEVELS.join(", ")} (default: info); debug logs
                        each command's INS and status word
  --reinitialize-without-so-pin
                        let INITIALIZE wipe an initialised device without its
                        current SO-PIN, as the Pico HSM firmware does (default:
                        the SO-PIN in tag 82 must match, as on a SmartCard-HSM)
  --issuer DIR          issuer directory with the root and DV that certify the
                        device key; devices given the same DIR share one root
                        (default: DIR.issuer beside the data directory DIR)
  --no-secure-messaging answer secure-messaging APDUs with 6E00, as the Pico HSM
                        firmware does (default: accept them after chip
                        authentication)
  --chip-authentication-after-verify
                        refuse GENERAL AUTHENTICATE until a PIN is verified, as
                        the firmware does (default: allow it before VERIFY,
                        which OpenSC needs)
  --slots N             run N independent devices, one per vpcd slot: slot 0 on
                        the --vpcd port is NAME, slot i on that port + i is
                        NAME-i, each with its default data directory and secret
                        (Debian's vpcd has 2 slots, "Virtual PCD 00 00" and "00 01")
  --device SPEC         run one device per --device (repeat it), SPEC being
                        ${DEVICE_SPEC_FORMAT};
                        slot N is the --vpcd port + N; replaces --name,
                        --data-dir and --secret-file
${BUTTON_USAGE}  --print-chain         print the device certificate chain (EF 2F02), check it
                        against the issuer's root, and exit; stop the running
                        device first, because it holds the data directory
  -h, --help            print this help and exit
`;

const OPTIONS_WITH_VALUE = ["--name", "--data-dir", "--secret-file", "--vpcd", "--log-level", "--issuer", "--slots", "--device", ...BUTTON_VALUE_OPTIONS] as const;
type ValueOption = (typeof OPTIONS_WITH_VALUE)[number];

const FLAG_OPTIONS = ["--reinitialize-without-so-pin", "--no-secure-messaging", "--chip-authentication-after-verify", "--print-chain", ...BUTTON_FLAG_OPTIONS] as const;
type FlagOption = (typeof FLAG_OPTIONS)[number];

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses `args` (without the program name); `env` supplies HOME and XDG_DATA_HOME. */
export function parseCommandLine(args: readonly string[], env: Readonly<Record<string, string | undefined>>): CommandLine {
  const values = new Map<ValueOption, string>();
  const flags = new Set<FlagOption>();
  const deviceSpecs: string[] = [];

  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--help" || arg === "-h") return { kind: "help" };

    if ((FLAG_OPTIONS as readonly string[]).includes(arg)) {
      flags.add(arg as FlagOption);
      continue;
    }

    const [option, inlineValue] = splitOption(arg);
    if (!isValueOption(option)) {
      throw new UsageError(
        arg.startsWith("-")
          ? `unknown option "${arg}": see --help for the options`
          : `unexpected argument "${arg}": vdevice takes options only, see --help`,
      );
    }

    let value = inlineValue;
    if (value === undefined) {
      value = args[index + 1];
      if (value === undefined) throw new UsageError(`missing value after ${option}: ${describeValue(option)}`);
      index++;
    }

    if (option === "--device") {
      deviceSpecs.push(value);
      continue;
    }
    if (values.has(option)) throw new UsageError(`${option} given twice: give it once`);
    values.set(option, value);
  }

  const settings = buildSettings(values, env);
  if (flags.has("--reinitialize-without-so-pin")) settings.reinitializeWithoutSoPin = true;
  if (flags.has("--no-secure-messaging")) settings.noSecureMessaging = true;
  if (flags.has("--chip-authentication-after-verify")) settings.chipAuthenticationAfterVerify = true;
  const button = parseButtonOptions(values, flags, rejectUsage);
  if (button) settings.button = button;

  const singleDeviceOptions = (["--name", "--data-dir", "--secret-file"] as const).filter((option) => values.has(option));
  const devices = expandDevices(settings, { slots: values.get("--slots"), devices: deviceSpecs, singleDeviceOptions }, env);
  spreadButtonSettings(devices, rejectUsage);
  if (flags.has("--print-chain") && devices.length > 1) {
    throw new UsageError("--print-chain prints one device's chain: leave out --slots and --device, and give --name or --data-dir");
  }
  return { kind: flags.has("--print-chain") ? "print-chain" : "run", settings: devices[0], devices };
}

function rejectUsage(message: string): never {
  throw new UsageError(message);
}

function buildSettings(values: Map<ValueOption, string>, env: Readonly<Record<string, string | undefined>>): DeviceSettings {
  const name = parseName(values.get("--name") ?? DEFAULT_NAME);
  const dataDir = parsePath("--data-dir", values.get("--data-dir")) ?? defaultDataDir(name, env);
  const secretFile = parsePath("--secret-file", values.get("--secret-file"));
  const vpcd = values.has("--vpcd") ? parseVpcdAddress(values.get("--vpcd")!) : { ...DEFAULT_VPCD_ADDRESS };
  const logLevel = parseLogLevel(values.get("--log-level") ?? "info");
  const issuerDir = parsePath("--issuer", values.get("--issuer"));

  return {
    name,
    dataDir,
    vpcd,
    logLevel,
    ...(secretFile === undefined ? {} : { secretFile }),
    ...(issuerDir === undefined ? {} : { issuerDir }),
  };
}

/** Splits `--option=value`; a plain `--option` has no inline value. */
function splitOption(arg: string): [string, string | undefined] {
  const equals = arg.indexOf("=");
  if (!arg.startsWith("--") || equals < 0) return [arg, undefined];
  return [arg.slice(0, equals), arg.slice(equals + 1)];
}

function isValueOption(option: string): option is ValueOption {
  return (OPTIONS_WITH_VALUE as readonly string[]).includes(option);
}

function describeValue(option: ValueOption): string {
  switch (option) {
    case "--name":
      return "give a device name such as --name default";
    case "--data-dir":
      return "give a directory such as --data-dir ./state";
    case "--secret-file":
      return "give a file path such as --secret-file ./device.secret";
    case "--vpcd":
      return "give HOST:PORT such as --vpcd 127.0.0.1:35963";
    case "--log-level":
      return `give one of ${LOG_LEVELS.join(", ")}`;
    case "--issuer":
      return "give a directory such as --issuer ./fleet-issuer";
    case "--confirm-port":
      return "give a TCP port such as --confirm-port 35990";
    case "--confirm-timeout":
      return "give seconds such as --confirm-timeout 30";
    case "--slots":
      return "give a number of devices such as --slots 2";
    case "--device":
      return `give ${DEVICE_SPEC_FORMAT} such as --device name=alice,slot=0`;
  }
}

/** Checks a device name: it becomes the last component of the default data directory. */
export function parseName(value: string): string {
  if (!NAME_PATTERN.test(value) || value === "." || value === "..") {
    throw new UsageError(
      `invalid --name "${value}": use 1 to 64 letters, digits, ".", "_" or "-", other than "." and ".." (it names the data directory)`,
    );
  }
  return value;
}

function parsePath(option: "--data-dir" | "--secret-file" | "--issuer", value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new UsageError(`invalid ${option} "": ${describeValue(option)}`);
  return value;
}

/** Parses `HOST:PORT`; HOST may be a name, an IPv4 address or a bracketed IPv6 address. */
export function parseVpcdAddress(value: string): VpcdAddress {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(value);
  if (!match) {
    throw new UsageError(`invalid --vpcd "${value}": give HOST:PORT such as 127.0.0.1:35963`);
  }

  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`invalid port in --vpcd "${value}": give a TCP port from 1 to 65535`);
  }

  const host = match[1].startsWith("[") ? match[1].slice(1, -1) : match[1];
  return { host, port };
}

function parseLogLevel(value: string): LogLevel {
  if (!isLogLevel(value)) {
    throw new UsageError(`invalid --log-level "${value}": give one of ${LOG_LEVELS.join(", ")}`);
  }
  return value;
}

/** Returns `$XDG_DATA_HOME/vdevice/<name>`, else `$HOME/.local/share/vdevice/<name>`. */
export function defaultDataDir(name: string, env: Readonly<Record<string, string | undefined>>): string {
  // The XDG Base Directory Specification treats a relative path as invalid, so it is ignored.
  const xdgDataHome = env.XDG_DATA_HOME;
  if (xdgDataHome !== undefined && xdgDataHome.startsWith("/")) return joinPath(xdgDataHome, "vdevice", name);

  const home = env.HOME;
  if (home === undefined || home === "") {
    throw new UsageError("no default data directory: HOME is not set; give --data-dir DIR");
  }
  return joinPath(home, ".local", "share", "vdevice", name);
}

function joinPath(first: string, ...rest: string[]): string {
  return [first.replace(/\/+$/, ""), ...rest].join("/");
}
