/**
 * Command-line options of the virtual button: --auto-confirm, --confirm-prompt,
 * --confirm-port, --confirm-timeout and --led-status.
 */
import type { ButtonSettings } from "./setup.ts";

/** Throws the CLI's usage error with `message` (passed in, so this file does not import cli.ts). */
export type Reject = (message: string) => never;

export const BUTTON_VALUE_OPTIONS = ["--confirm-port", "--confirm-timeout"] as const;
export const BUTTON_FLAG_OPTIONS = ["--auto-confirm", "--confirm-prompt", "--led-status"] as const;

/** Maximum confirmation timeout, seconds. */
const MAX_CONFIRM_TIMEOUT_SECONDS = 600;

export const BUTTON_USAGE = `  --auto-confirm        confirm every press-to-confirm request (option 0100)
                        without asking, for unattended use; logged at start
  --confirm-prompt      ask on this terminal before each key operation while
                        option 0100 is set (type y and Enter to confirm)
  --confirm-port PORT   answer those requests through an HTTP endpoint on
                        127.0.0.1:PORT (0 picks a free port); its bearer token
                        is written to DIR.button-token beside the data directory
  --confirm-timeout S   seconds to wait for a confirmation before answering
                        6600 (default: 30, at most ${MAX_CONFIRM_TIMEOUT_SECONDS}); keep it below the
                        client's own timeout, because vpcd has no waiting-time
                        extension
  --led-status          print one line per LED change (idle, active,
                        processing, press-to-confirm) on standard output
`;

/** Builds the button settings from the parsed option values and flags. */
export function parseButtonOptions(values: ReadonlyMap<string, string>, flags: ReadonlySet<string>, reject: Reject): ButtonSettings | undefined {
  const settings: ButtonSettings = {};
  if (flags.has("--auto-confirm")) settings.autoConfirm = true;
  if (flags.has("--confirm-prompt")) settings.confirmPrompt = true;
  if (flags.has("--led-status")) settings.ledStatus = true;

  const port = values.get("--confirm-port");
  if (port !== undefined) settings.confirmPort = parseInteger("--confirm-port", port, 0, 65535, "a TCP port from 0 to 65535", reject);

  const timeout = values.get("--confirm-timeout");
  if (timeout !== undefined) {
    settings.confirmTimeoutSeconds = parseInteger("--confirm-timeout", timeout, 1, MAX_CONFIRM_TIMEOUT_SECONDS, `seconds from 1 to ${MAX_CONFIRM_TIMEOUT_SECONDS}`, reject);
  }

  if (settings.autoConfirm && (settings.confirmPrompt || settings.confirmPort !== undefined)) {
    reject("--auto-confirm confirms without asking: leave out --confirm-prompt and --confirm-port, or drop --auto-confirm");
  }
  return Object.keys(settings).length === 0 ? undefined : settings;
}

/** Gives each of several devices its own endpoint port (port + index) and rejects a shared terminal prompt. */
export function spreadButtonSettings<T extends { button?: ButtonSettings }>(devices: T[], reject: Reject): void {
  if (devices.length < 2) return;
  if (devices[0].button?.confirmPrompt) reject("--confirm-prompt serves one device: use --confirm-port with several devices");

  devices.forEach((device, index) => {
    const port = device.button?.confirmPort;
    if (port !== undefined && port !== 0) device.button = { ...device.button, confirmPort: port + index };
  });
}

function parseInteger(option: string, value: string, min: number, max: number, what: string, reject: Reject): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) reject(`invalid ${option} "${value}": give ${what}`);
  return number;
}
