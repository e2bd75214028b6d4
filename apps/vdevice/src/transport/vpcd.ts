/**
 * The vpcd link: the card side of vsmartcard's virtual reader protocol.
 *
 * pcscd loads the vpcd driver, which listens on TCP (127.0.0.1:35963 for its
 * first reader); the card connects as the client. vpcd sends control codes
 * (power off/on, reset, get ATR) and command APDUs. The card sends exactly one
 * frame back for each ATR request and each APDU. vpcd also requests the ATR
 * about every 0.44 s as a presence check, so the link handles frames one at a
 * time in arrival order and writes each response as soon as the card returns it.
 *
 * The link reconnects with exponential backoff whenever vpcd is not there yet
 * or goes away (pcscd restarts).
 */

import type { Logger } from "../log.ts";
import { createSocketConnector } from "./connector.ts";
import { SocketError } from "./socket.ts";
import type { SocketConnector, VpcdAddress, VpcdSocket } from "./socket.ts";
import { encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD, VpcdControl } from "./vpcd-frame.ts";

export type { VpcdAddress } from "./socket.ts";

/** vpcd's default address for its first virtual reader ("Virtual PCD 00 00"). */
export const DEFAULT_VPCD_ADDRESS: Readonly<VpcdAddress> = { host: "127.0.0.1", port: 35963 };

/** The card interface the link drives; the device's VirtualDevice implements it. */
export interface VpcdCard {
  readonly atr: Uint8Array;
  powerOn(): void;
  powerOff(): void;
  reset(): void;

  /** Returns the response APDU (data || SW1 SW2) to one command APDU. */
  transmit(command: Uint8Array): Promise<Uint8Array>;
}

/** Reconnect delays: the first retry waits `initialDelayMs`, each next one twice as long, up to `maxDelayMs`. */
export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = { initialDelayMs: 250, maxDelayMs: 5000 };

export interface VpcdLinkOptions {
  address: VpcdAddress;
  card: VpcdCard;
  logger: Logger;

  /** Opens the TCP connection; defaults to libc sockets (or Deno.connect without FFI). */
  connect?: SocketConnector;
  retry?: RetryPolicy;

  /** Minimum time between two "still not reachable" log records. */
  retryLogIntervalMs?: number;
}

/** SW 6F00 (no precise diagnosis), sent when the card throws instead of returning a response. */
const SW_UNKNOWN_ERROR = new Uint8Array([0x6f, 0x00]);

/** Largest read per recv call: one maximum frame plus its length prefix. */
const READ_BUFFER_SIZE = MAX_FRAME_PAYLOAD + 2;

const INSTALL_HINT =
  "nothing listens on the vpcd port: pcscd with the vpcd driver must run. " +
  "On Debian, as root: apt-get install pcscd vsmartcard-vpcd, then start pcscd " +
  "(`systemctl start pcscd`, or `pcscd` where there is no systemd). " +
  "Debian's vpcd registers two readers only, on ports 35963 and 35964 (/etc/reader.conf.d/vpcd)";

/** Connects a card to vpcd and serves it until `stop`. */
export class VpcdLink {
  readonly #options: VpcdLinkOptions;
  readonly #address: string;
  readonly #connect: SocketConnector;
  readonly #retry: RetryPolicy;
  readonly #retryLogIntervalMs: number;
  readonly #logger: Logger;

  #running: Promise<void> | undefined;
  #stopping = false;
  #socket: VpcdSocket | undefined;
  #wakeFromDelay: (() => void) | undefined;
  #installHintShown = false;
  #connected = false;
  #lastRetryLogAt = -Infinity;

  constructor(options: VpcdLinkOptions) {
    this.#options = options;
    this.#address = `${options.address.host}:${options.address.port}`;
    this.#logger = options.logger.child({ vpcd: this.#address });
    this.#connect = options.connect ?? createSocketConnector(this.#logger);
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#retryLogIntervalMs = options.retryLogIntervalMs ?? 30_000;
  }

  /** Whether a vpcd connection is open right now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Starts connecting in the background; calling it again has no effect. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Closes the connection and stops retrying; resolves once the link is idle. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeFromDelay?.();
    await this.#socket?.close();
    await this.#running;
  }

  async #run(): Promise<void> {
    let failures = 0;

    while (!this.#stopping) {
      const socket = await this.#tryConnect(failures);

      if (socket === undefined) {
        failures++;
        await this.#delay(retryDelay(this.#retry, failures));
        continue;
      }

      failures = 0;
      this.#lastRetryLogAt = -Infinity;
      await this.#serveConnection(socket);

      if (!this.#stopping) await this.#delay(this.#retry.initialDelayMs);
    }
  }

  /** Returns a connected socket, or undefined after logging why none could be opened. */
  async #tryConnect(failures: number): Promise<VpcdSocket | undefined> {
    try {
      const socket = await this.#connect(this.#options.address);
      if (this.#stopping) {
        await socket.close();
        return undefined;
      }
      return socket;
    } catch (error) {
      if (this.#stopping) return undefined;

      const message = error instanceof Error ? error.message : String(error);
      const fields = { error: message, attempt: failures + 1, retryInMs: retryDelay(this.#retry, failures + 1) };

      if (this.#isRetryLogDue()) {
        this.#logger.warn(failures === 0 ? "vpcd not reachable, retrying" : "vpcd still not reachable", fields);
      } else {
        this.#logger.debug("vpcd connect failed", fields);
      }

      if (error instanceof SocketError && error.kind === "refused" && !this.#installHintShown) {
        this.#installHintShown = true;
        this.#logger.info(INSTALL_HINT);
      }
      return undefined;
    }
  }

  /** Rate-limits the "not reachable" warnings to one per `retryLogIntervalMs`; the rest go to debug. */
  #isRetryLogDue(): boolean {
    const now = Date.now();
    if (now - this.#lastRetryLogAt < this.#retryLogIntervalMs) return false;

    this.#lastRetryLogAt = now;
    return true;
  }

  async #serveConnection(socket: VpcdSocket): Promise<void> {
    this.#socket = socket;
    this.#connected = true;
    this.#logger.info("vpcd connected", { socket: socket.kind });

    const counts = { commands: 0 };
    let reason = "vpcd closed the connection";

    try {
      await this.#serveFrames(socket, counts);
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    } finally {
      this.#connected = false;
      this.#socket = undefined;
      await socket.close();
    }

    if (this.#stopping) reason = "link stopped";
    this.#logger.info("vpcd disconnected", { reason, commands: counts.commands });
  }

  async #serveFrames(socket: VpcdSocket, counts: { commands: number }): Promise<void> {
    const decoder = new FrameDecoder();
    const buffer = new Uint8Array(READ_BUFFER_SIZE);

    while (!this.#stopping) {
      const count = await socket.read(buffer);
      if (count === 0) return;

      decoder.push(buffer.subarray(0, count));

      for (let payload = decoder.next(); payload !== undefined; payload = decoder.next()) {
        const response = await this.#handleFrame(payload, counts);
        if (response !== undefined) await socket.write(encodeFrame(response));
      }
    }
  }

  /** Returns the payload to send back, or undefined when the frame needs no response. */
  async #handleFrame(payload: Uint8Array, counts: { commands: number }): Promise<Uint8Array | undefined> {
    const card = this.#options.card;

    if (payload.length === 0) {
      this.#logger.warn("vpcd sent an empty frame; ignored");
      return undefined;
    }

    if (payload.length === 1) return this.#handleControl(payload[0]);

    counts.commands++;
    try {
      return await card.transmit(payload);
    } catch (error) {
      this.#logger.error("card threw on a command APDU; sent SW 6F00", {
        ins: hexByte(payload[1]),
        error: error instanceof Error ? error.message : String(error),
      });
      return SW_UNKNOWN_ERROR;
    }
  }

  #handleControl(code: number): Uint8Array | undefined {
    const card = this.#options.card;

    switch (code) {
      case VpcdControl.POWER_OFF:
        this.#logger.debug("vpcd power off");
        card.powerOff();
        return undefined;
      case VpcdControl.POWER_ON:
        this.#logger.debug("vpcd power on");
        card.powerOn();
        return undefined;
      case VpcdControl.RESET:
        this.#logger.debug("vpcd reset");
        card.reset();
        return undefined;
      case VpcdControl.GET_ATR:
        return card.atr;
      default:
        this.#logger.warn("vpcd sent an unknown control code; ignored", { code: hexByte(code) });
        return undefined;
    }
  }

  /** Waits `ms`, or less when `stop` is called meanwhile. */
  #delay(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();

    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeFromDelay = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Returns the delay before retry number `failures` (1-based) under `policy`. */
export function retryDelay(policy: RetryPolicy, failures: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(policy.initialDelayMs * 2 ** exponent, policy.maxDelayMs);
}

function hexByte(value: number | undefined): string {
  return (value ?? 0).toString(16).toUpperCase().padStart(2, "0");
}
