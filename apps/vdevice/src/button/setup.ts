/**
 * Starts the virtual button and the LED status for one device from the CLI
 * settings: the confirmation source (auto-confirm, terminal prompt, local HTTP
 * control endpoint) and the LED status line.
 *
 * The vpcd protocol carries no waiting-time extension (WTX), so the host simply
 * waits for the response while the owner decides. The confirmation timeout
 * must therefore stay below the client's own timeout.
 */
import { randomBytes } from "node:crypto";
import { chmod, writeFile } from "node:fs/promises";
import type { Logger } from "../log.ts";
import { startControlServer } from "./http-control.ts";
import { formatLedLine, LedStatus } from "./led.ts";
import { AutoConfirmer, ConfirmationQueue, type PresenceConfirmer } from "./presence.ts";
import { startTerminalPrompt } from "./terminal-prompt.ts";

/** Default time the owner has to confirm, seconds (the Pico HSM's default button timeout). */
export const DEFAULT_CONFIRM_TIMEOUT_SECONDS = 30;

export interface ButtonSettings {
  /** Confirm every request without asking. */
  autoConfirm?: boolean;
  /** Ask on the device's terminal. */
  confirmPrompt?: boolean;
  /** Port of the control endpoint on 127.0.0.1 (0 picks a free one). */
  confirmPort?: number;
  confirmTimeoutSeconds?: number;
  /** Print one `led STATE TIME` line on standard output per LED change. */
  ledStatus?: boolean;
}

export interface Button {
  /** Undefined when no confirmation source was chosen: requests are then confirmed at once. */
  presence?: PresenceConfirmer;
  led: LedStatus;
  close(): Promise<void>;
}

/**
 * Starts the sources `settings` names. The control endpoint's bearer token is
 * written to `tokenFile` (mode 0600); the log names the file, never the token.
 */
export async function startButton(
  settings: ButtonSettings,
  tokenFile: string,
  logger: Logger,
  writeLine: (line: string) => void,
  options: { deviceName?: string } = {},
): Promise<Button> {
  const led = new LedStatus();
  if (settings.ledStatus) led.subscribe((event) => writeLine(formatLedLine(event, options.deviceName)));

  if (settings.autoConfirm) {
    logger.warn("press-to-confirm: --auto-confirm confirms every key operation without asking anyone");
    return { presence: new AutoConfirmer(), led, close: async () => {} };
  }

  const wantsQueue = settings.confirmPrompt || settings.confirmPort !== undefined;
  if (!wantsQueue) {
    logger.info("press-to-confirm: no confirmation source, so option 0100 confirms at once; give --confirm-prompt or --confirm-port to ask");
    return { led, close: async () => {} };
  }

  const timeoutSeconds = settings.confirmTimeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_SECONDS;
  const queue = new ConfirmationQueue({ timeoutMs: timeoutSeconds * 1000, led });
  const closers: (() => Promise<void>)[] = [];

  if (settings.confirmPrompt) {
    const stop = startTerminalPrompt({ queue, logger });
    closers.push(async () => stop());
    logger.info("press-to-confirm: asking on this terminal", { timeoutSeconds });
  }

  if (settings.confirmPort !== undefined) {
    const token = randomBytes(24).toString("hex");
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    await chmod(tokenFile, 0o600);
    const server = startControlServer({ port: settings.confirmPort, token, queue, led, logger });
    closers.push(() => server.close());
    logger.info("press-to-confirm: control endpoint ready", { port: server.port, tokenFile, timeoutSeconds });
  }

  return {
    presence: queue,
    led,
    close: async () => {
      for (const close of closers) await close();
    },
  };
}
