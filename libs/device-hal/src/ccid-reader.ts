/**
 * Host-side CCID driver on WebUSB: claims a board's CCID or WebCCID interface,
 * powers the card on, and exchanges APDUs with `transmit`, the same signature
 * as the virtual device's in-process API and `Transmit` of @hsmkit/apdu.
 */
import { APPLICATION_USB, chipByBootloaderUsb } from "./boards.ts";
import {
  CCID_COMMAND_STATUS,
  CCID_ERROR_NAMES,
  CCID_ICC_STATUS,
  CCID_MAX_MESSAGE_LENGTH,
  CCID_MESSAGE,
  ccidMessageLength,
  decodeCcidMessage,
  encodeCcidMessage,
  type CcidMessage,
} from "./ccid-message.ts";
import { DeviceHalError } from "./errors.ts";
import { findPicobootInterface } from "./picoboot.ts";
import { bytesOf, findEndpoint, type UsbDevice, type UsbInterface } from "./webusb.ts";

export interface CcidReaderOptions {
  /**
   * Interface to claim. "auto" (default) prefers WebCCID (vendor class 0xFF)
   * because browsers reject the Smart Card class and pcscd may hold it.
   */
  interface?: "auto" | "ccid" | "webccid";
  /** Time to wait for each bulk-IN read, ms; the board sends a time extension every ~1.5 s. Default 5000. */
  readTimeoutMs?: number;
  /** Whole-command limit including time extensions, ms; default none (RSA-4096 generation takes minutes). */
  commandTimeoutMs?: number;
}

const READ_LENGTH = CCID_MAX_MESSAGE_LENGTH + 64;

/** A claimed CCID interface of one board, with the card powered on. */
export class CcidReader {
  /** ATR (answer to reset) of the card, read by `open`. */
  atr = new Uint8Array();
  readonly #device: UsbDevice;
  readonly #interfaceNumber: number;
  readonly #bulkIn: number;
  readonly #bulkOut: number;
  readonly #readTimeoutMs: number;
  readonly #commandTimeoutMs: number | undefined;
  #seq = 0;
  /** A bulk-IN read that outlived its timeout; the next read takes its result instead of starting another. */
  #pendingRead: Promise<Uint8Array> | undefined;
  /** Bytes read but not yet consumed as a message. */
  #received = new Uint8Array();
  /** Serialises commands: the board has one APDU engine for both of its CCID interfaces. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(device: UsbDevice, iface: UsbInterface, options: CcidReaderOptions) {
    this.#device = device;
    this.#interfaceNumber = iface.interfaceNumber;
    this.#bulkIn = findEndpoint(iface.alternate, "in", "bulk")!.endpointNumber;
    this.#bulkOut = findEndpoint(iface.alternate, "out", "bulk")!.endpointNumber;
    this.#readTimeoutMs = options.readTimeoutMs ?? 5000;
    this.#commandTimeoutMs = options.commandTimeoutMs;
  }

  /** Opens `device`, claims its CCID interface, powers the card off and on, and stores the ATR. */
  static async open(device: UsbDevice, options: CcidReaderOptions = {}): Promise<CcidReader> {
    if (!device.opened) await device.open();
    if (!device.configuration) await device.selectConfiguration(1);

    const iface = selectCcidInterface(device, options.interface ?? "auto");
    await device.claimInterface(iface.interfaceNumber);

    const reader = new CcidReader(device, iface, options);
    await reader.powerOff();
    await reader.powerOn();
    return reader;
  }

  /** The interface number that was claimed. */
  get interfaceNumber(): number {
    return this.#interfaceNumber;
  }

  /** Sends IccPowerOn and returns the ATR. */
  powerOn(): Promise<Uint8Array> {
    return this.#serialise(async () => {
      const reply = await this.#exchange(CCID_MESSAGE.PC_TO_RDR_ICC_POWER_ON, new Uint8Array(), CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK);
      this.atr = reply.data;
      return reply.data;
    });
  }

  /** Sends IccPowerOff; the reply reports the card as present and inactive. */
  powerOff(): Promise<void> {
    return this.#serialise(async () => {
      await this.#exchange(CCID_MESSAGE.PC_TO_RDR_ICC_POWER_OFF, new Uint8Array(), CCID_MESSAGE.RDR_TO_PC_SLOT_STATUS);
    });
  }

  /** Sends one command APDU in an XfrBlock and returns the response APDU (data ‖ SW1 SW2); 61XX is returned as is. */
  transmit = (command: Uint8Array): Promise<Uint8Array> => {
    if (command.length > CCID_MAX_MESSAGE_LENGTH - 10) {
      return Promise.reject(
        new DeviceHalError("INVALID_ARGUMENT", `command APDU of ${command.length} bytes exceeds the 2038 bytes one CCID message carries; use command chaining`),
      );
    }
    return this.#serialise(async () => {
      let reply: CcidMessage;
      try {
        reply = await this.#exchange(CCID_MESSAGE.PC_TO_RDR_XFR_BLOCK, command, CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK);
      } catch (error) {
        if (error instanceof DeviceHalError && error.code === "TRANSFER_FAILED") await this.#powerCycle();
        throw error;
      }
      if ((reply.param[0] & 0x03) !== CCID_ICC_STATUS.ACTIVE) {
        throw new DeviceHalError("CCID_ERROR", "the card responded while not powered on; call powerOn() first");
      }
      return reply.data;
    });
  };

  /** Powers the card off and releases the interface; the device stays open for other users. */
  async close(): Promise<void> {
    try {
      await this.powerOff();
    } finally {
      await this.#device.releaseInterface(this.#interfaceNumber).catch(() => {});
    }
  }

  #serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Sends one message and reads until the reply with the same bSeq, skipping time extensions and stale replies. */
  async #exchange(type: number, data: Uint8Array, expectedType: number): Promise<CcidMessage> {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xff;

    const message = encodeCcidMessage({ type, slot: 0, seq, param: [0, 0, 0], data });
    const sent = await this.#device.transferOut(this.#bulkOut, message).catch((error: unknown) => {
      throw leftTheBus(error);
    });
    if (sent.status !== "ok") throw await this.#fail(`CCID message 0x${type.toString(16)} was not accepted (status ${sent.status})`);

    const deadline = this.#commandTimeoutMs === undefined ? Infinity : Date.now() + this.#commandTimeoutMs;
    for (;;) {
      if (Date.now() > deadline) throw await this.#fail(`no response within the command timeout of ${this.#commandTimeoutMs} ms`);

      const reply = decodeCcidMessage(await this.#readMessage());
      if (reply.seq !== seq) continue;

      const commandStatus = reply.param[0] >> 6;
      if (commandStatus === CCID_COMMAND_STATUS.TIME_EXTENSION) continue;
      if (commandStatus === CCID_COMMAND_STATUS.FAILED) {
        const name = CCID_ERROR_NAMES[reply.param[1]] ?? "user-defined error";
        throw new DeviceHalError("CCID_ERROR", `the reader reported CCID error 0x${reply.param[1].toString(16)} (${name})`);
      }
      if (reply.type !== expectedType) {
        throw new DeviceHalError("CCID_ERROR", `expected CCID message 0x${expectedType.toString(16)}, got 0x${reply.type.toString(16)}`);
      }
      return reply;
    }
  }

  /** Returns the next whole message, reading bulk-IN transfers as needed; one transfer may hold several messages or part of one. */
  async #readMessage(): Promise<Uint8Array> {
    for (;;) {
      const length = ccidMessageLength(this.#received);
      if (length !== undefined && this.#received.length >= length) {
        const message = this.#received.slice(0, length);
        this.#received = this.#received.slice(length);
        return message;
      }

      const more = await this.#readChunk();
      const joined = new Uint8Array(this.#received.length + more.length);
      joined.set(this.#received);
      joined.set(more, this.#received.length);
      this.#received = joined;
    }
  }

  async #readChunk(): Promise<Uint8Array> {
    this.#pendingRead ??= this.#device.transferIn(this.#bulkIn, READ_LENGTH).then(
      (result) => {
        if (result.status !== "ok") throw new DeviceHalError("TRANSFER_FAILED", `bulk-IN read failed with status ${result.status}`);
        return bytesOf(result.data);
      },
      (error: unknown) => {
        throw leftTheBus(error);
      },
    );

    const timedOut = new DeviceHalError("TRANSFER_FAILED", `no CCID reply within ${this.#readTimeoutMs} ms; the board may have left the bus`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut), this.#readTimeoutMs);
    });

    try {
      const chunk = await Promise.race([this.#pendingRead, timeout]);
      this.#pendingRead = undefined;
      return chunk;
    } catch (error) {
      // A timed-out read stays pending: WebUSB cannot cancel it, so the next read takes its result.
      if (error !== timedOut) this.#pendingRead = undefined;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resets the card after a lost reply: the firmware drops a malformed APDU
   * without replying, and only a power cycle brings its APDU engine back to a
   * known state. Errors here are ignored because the caller reports the first one.
   */
  async #powerCycle(): Promise<void> {
    try {
      await this.#exchange(CCID_MESSAGE.PC_TO_RDR_ICC_POWER_OFF, new Uint8Array(), CCID_MESSAGE.RDR_TO_PC_SLOT_STATUS);
      this.atr = (await this.#exchange(CCID_MESSAGE.PC_TO_RDR_ICC_POWER_ON, new Uint8Array(), CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK)).data;
    } catch {
      // The board may have left the bus; discovery finds it again.
    }
  }

  /** Clears both bulk halts so the next command starts clean, and returns the error to throw. */
  async #fail(message: string): Promise<DeviceHalError> {
    await this.#device.clearHalt("out", this.#bulkOut).catch(() => {});
    await this.#device.clearHalt("in", this.#bulkIn).catch(() => {});
    return new DeviceHalError("TRANSFER_FAILED", message);
  }
}

/** Picks the CCID (class 0x0B) or WebCCID (class 0xFF) interface with a bulk IN and a bulk OUT endpoint. */
export function selectCcidInterface(device: UsbDevice, choice: "auto" | "ccid" | "webccid"): UsbInterface {
  const bootChip = chipByBootloaderUsb(device.vendorId, device.productId);
  if (bootChip !== undefined && findPicobootInterface(device) !== undefined) {
    throw new DeviceHalError("NOT_FOUND", `the ${bootChip.name} is in BOOTSEL mode and has no CCID interface; flash a firmware or unplug and replug it without holding BOOTSEL`);
  }

  const interfaces = device.configuration?.interfaces ?? device.configurations[0]?.interfaces ?? [];
  const withBulk = (cls: number) =>
    interfaces.find((iface) => iface.alternate.interfaceClass === cls && findEndpoint(iface.alternate, "in", "bulk") && findEndpoint(iface.alternate, "out", "bulk"));

  const ccid = withBulk(APPLICATION_USB.ccidInterfaceClass);
  const webCcid = withBulk(APPLICATION_USB.webCcidInterfaceClass);
  const candidates = { auto: webCcid ?? ccid, ccid, webccid: webCcid };
  const names = { auto: "CCID or WebCCID", ccid: "CCID (class 0x0B)", webccid: "WebCCID (class 0xFF)" };
  const chosen = candidates[choice];
  if (chosen === undefined) {
    throw new DeviceHalError("NOT_FOUND", `the device ${device.productName ?? ""} has no ${names[choice]} interface with bulk endpoints; is it a Pico Keys board in application mode?`);
  }
  return chosen;
}

/** Wraps a WebUSB exception (the device was unplugged or rebooted) as "NOT_FOUND". */
function leftTheBus(error: unknown): DeviceHalError {
  if (error instanceof DeviceHalError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new DeviceHalError("NOT_FOUND", `the board left the USB bus (${reason}); if it was rebooting, find it again and reopen it`);
}
