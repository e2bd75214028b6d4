/**
 * PICOBOOT: the vendor interface of the RP2040/RP2350 bootrom in BOOTSEL mode
 * (command IDs, status codes and argument layouts as in pico-sdk `boot/picoboot.h`).
 *
 * Each command is a 32-byte packet on bulk OUT (dMagic 0x431FD10B, dToken,
 * bCmdId with bit 7 = data phase IN, bCmdSize, dTransferLength, 16 argument
 * bytes), then dTransferLength bytes of data, then a zero-length packet in the
 * opposite direction of the data (on bulk IN when there is no data). A rejected
 * command stalls the endpoints, and GET_COMMAND_STATUS returns the reason.
 */
import { DeviceHalError, hex } from "./errors.ts";
import { bytesOf, findEndpoint, toBufferSource, type UsbDevice, type UsbInterface } from "./webusb.ts";

export const PICOBOOT_MAGIC = 0x431fd10b;

export const PICOBOOT_COMMAND = {
  EXCLUSIVE_ACCESS: 0x01,
  REBOOT: 0x02,
  FLASH_ERASE: 0x03,
  READ: 0x84,
  WRITE: 0x05,
  EXIT_XIP: 0x06,
  ENTER_CMD_XIP: 0x07,
  EXEC: 0x08,
  VECTORIZE_FLASH: 0x09,
  REBOOT2: 0x0a,
  GET_INFO: 0x8b,
  OTP_READ: 0x8c,
  OTP_WRITE: 0x0d,
} as const;

/** Vendor control requests to the PICOBOOT interface. */
export const PICOBOOT_REQUEST = { INTERFACE_RESET: 0x41, GET_COMMAND_STATUS: 0x42 } as const;

export const PICOBOOT_STATUS_NAMES = [
  "OK",
  "UNKNOWN_CMD",
  "INVALID_CMD_LENGTH",
  "INVALID_TRANSFER_LENGTH",
  "INVALID_ADDRESS",
  "BAD_ALIGNMENT",
  "INTERLEAVED_WRITE",
  "REBOOTING",
  "UNKNOWN_ERROR",
  "INVALID_STATE",
  "NOT_PERMITTED",
  "INVALID_ARG",
  "BUFFER_TOO_SMALL",
  "PRECONDITION_NOT_MET",
  "MODIFIED_DATA",
  "INVALID_DATA",
  "NOT_FOUND",
  "UNSUPPORTED_MODIFICATION",
] as const;

/** EXCLUSIVE_ACCESS argument. */
export const EXCLUSIVE = { NOT_EXCLUSIVE: 0, EXCLUSIVE: 1, EXCLUSIVE_AND_EJECT: 2 } as const;

/** REBOOT2 flag: after a flash write, boot the image at param0 ("flash update" boot). */
export const REBOOT2_FLASH_UPDATE = 0x4;
/** Initial stack pointer picotool passes to REBOOT on RP2040 (top of striped SRAM). */
export const RP2040_REBOOT_SP = 0x20042000;

export interface PicobootCommandStatus {
  token: number;
  status: number;
  statusName: string;
  commandId: number;
  inProgress: boolean;
}

/** Finds the PICOBOOT interface: class 0xFF, subclass 0, protocol 0, one bulk IN and one bulk OUT endpoint. */
export function findPicobootInterface(device: UsbDevice): UsbInterface | undefined {
  const interfaces = device.configuration?.interfaces ?? device.configurations[0]?.interfaces ?? [];
  return interfaces.find(({ alternate }) => {
    const bulk = alternate.endpoints.filter((endpoint) => endpoint.type === "bulk");
    return (
      alternate.interfaceClass === 0xff &&
      alternate.interfaceSubclass === 0 &&
      alternate.interfaceProtocol === 0 &&
      bulk.length === 2 &&
      findEndpoint(alternate, "in", "bulk") !== undefined &&
      findEndpoint(alternate, "out", "bulk") !== undefined
    );
  });
}

/** A claimed PICOBOOT interface. Methods throw DeviceHalError("PICOBOOT_ERROR") with the bootrom's status. */
export class PicobootConnection {
  readonly #device: UsbDevice;
  readonly #interfaceNumber: number;
  readonly #bulkIn: number;
  readonly #bulkOut: number;
  #token = 1;

  private constructor(device: UsbDevice, iface: UsbInterface) {
    this.#device = device;
    this.#interfaceNumber = iface.interfaceNumber;
    this.#bulkIn = findEndpoint(iface.alternate, "in", "bulk")!.endpointNumber;
    this.#bulkOut = findEndpoint(iface.alternate, "out", "bulk")!.endpointNumber;
  }

  /** Opens `device`, claims its PICOBOOT interface and resets it so no stale state remains. */
  static async open(device: UsbDevice): Promise<PicobootConnection> {
    if (!device.opened) await device.open();
    if (!device.configuration) await device.selectConfiguration(1);

    const iface = findPicobootInterface(device);
    if (iface === undefined) {
      throw new DeviceHalError("NOT_FOUND", "the device has no PICOBOOT interface; hold BOOTSEL while plugging the board in, then retry");
    }
    await device.claimInterface(iface.interfaceNumber);

    const connection = new PicobootConnection(device, iface);
    await connection.reset();
    return connection;
  }

  /** Clears both endpoint halts and sends INTERFACE_RESET (drops exclusivity, aborts transfers). */
  async reset(): Promise<void> {
    await this.#device.clearHalt("in", this.#bulkIn).catch(() => {});
    await this.#device.clearHalt("out", this.#bulkOut).catch(() => {});
    await this.#device.controlTransferOut({ requestType: "vendor", recipient: "interface", request: PICOBOOT_REQUEST.INTERFACE_RESET, value: 0, index: this.#interfaceNumber });
  }

  /** Reads the status of the last command (GET_COMMAND_STATUS, 16 bytes). */
  async commandStatus(): Promise<PicobootCommandStatus> {
    const result = await this.#device.controlTransferIn(
      { requestType: "vendor", recipient: "interface", request: PICOBOOT_REQUEST.GET_COMMAND_STATUS, value: 0, index: this.#interfaceNumber },
      16,
    );
    const bytes = bytesOf(result.data);
    if (result.status !== "ok" || bytes.length < 10) throw new DeviceHalError("TRANSFER_FAILED", "GET_COMMAND_STATUS failed; unplug the board and retry");

    const view = new DataView(bytes.buffer);
    const status = view.getUint32(4, true);
    return { token: view.getUint32(0, true), status, statusName: PICOBOOT_STATUS_NAMES[status] ?? `status ${status}`, commandId: bytes[8], inProgress: bytes[9] !== 0 };
  }

  exclusiveAccess(mode: number): Promise<void> {
    return this.#command(PICOBOOT_COMMAND.EXCLUSIVE_ACCESS, [mode], 1).then(() => {});
  }

  /** RP2040: leaves XIP mode; required before flash commands. A no-op on RP2350. */
  exitXip(): Promise<void> {
    return this.#command(PICOBOOT_COMMAND.EXIT_XIP, [], 0).then(() => {});
  }

  /** Erases `size` bytes from `address`; both must be multiples of 4096. */
  flashErase(address: number, size: number): Promise<void> {
    return this.#command(PICOBOOT_COMMAND.FLASH_ERASE, words(address, size), 8, { address }).then(() => {});
  }

  /** Writes `data` at `address` (256-aligned for flash, which must be erased first). */
  write(address: number, data: Uint8Array): Promise<void> {
    return this.#command(PICOBOOT_COMMAND.WRITE, words(address, data.length), 8, { address, out: data }).then(() => {});
  }

  /** Reads `size` bytes of flash, RAM or ROM from `address`. */
  read(address: number, size: number): Promise<Uint8Array> {
    return this.#command(PICOBOOT_COMMAND.READ, words(address, size), 8, { address, inLength: size });
  }

  /** RP2040 only: reboots after `delayMs`; pc 0 boots from flash. */
  reboot(pc: number, sp: number, delayMs: number): Promise<void> {
    return this.#command(PICOBOOT_COMMAND.REBOOT, words(pc, sp, delayMs), 12).then(() => {});
  }

  /** RP2350 only: reboots with REBOOT2 flags and parameters. */
  reboot2(flags: number, delayMs: number, param0: number, param1: number): Promise<void> {
    return this.#command(PICOBOOT_COMMAND.REBOOT2, words(flags, delayMs, param0, param1), 16).then(() => {});
  }

  /** RP2350 only: GET_INFO of `type` (1 SYS, 2 PARTITION_TABLE, 3 UF2_TARGET_PARTITION, 4 UF2_STATUS) as 32-bit words. */
  async getInfo(type: number, params: number[] = [], length = 64): Promise<number[]> {
    const args = new Uint8Array(16);
    args[0] = type;
    new DataView(args.buffer).setUint32(4, params[0] ?? 0, true);
    const bytes = await this.#command(PICOBOOT_COMMAND.GET_INFO, [...args], 16, { inLength: length });
    const view = new DataView(bytes.buffer);
    return Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
  }

  /** RP2350 only: reads OTP rows; `ecc` rows are 2 bytes each, raw rows 4 bytes (24 bits used). */
  otpRead(row: number, rowCount: number, ecc: boolean): Promise<Uint8Array> {
    return this.#command(PICOBOOT_COMMAND.OTP_READ, otpArgs(row, rowCount, ecc), 5, { inLength: rowCount * (ecc ? 2 : 4) });
  }

  /**
   * RP2350 only: programs OTP rows. OTP bits can never be cleared, so this
   * refuses unless `confirmIrreversible` is true.
   */
  async otpWrite(row: number, data: Uint8Array, ecc: boolean, options: { confirmIrreversible: boolean }): Promise<void> {
    if (options.confirmIrreversible !== true) {
      throw new DeviceHalError("INVALID_ARGUMENT", `OTP write to row ${hex(row, 3)} is permanent and was not confirmed; pass confirmIrreversible: true only on a board you may brick`);
    }
    const rowSize = ecc ? 2 : 4;
    if (data.length === 0 || data.length % rowSize !== 0) throw new DeviceHalError("INVALID_ARGUMENT", `OTP data of ${data.length} bytes is not a whole number of ${rowSize}-byte rows`);
    await this.#command(PICOBOOT_COMMAND.OTP_WRITE, otpArgs(row, data.length / rowSize, ecc), 5, { out: data });
  }

  /** Releases the interface; call `exclusiveAccess(0)` first when not rebooting. */
  async close(): Promise<void> {
    await this.#device.releaseInterface(this.#interfaceNumber).catch(() => {});
  }

  async #command(id: number, args: number[], argSize: number, phase: { address?: number; out?: Uint8Array; inLength?: number } = {}): Promise<Uint8Array> {
    const transferLength = phase.out?.length ?? phase.inLength ?? 0;
    const token = this.#token++;

    const packet = new Uint8Array(32);
    const view = new DataView(packet.buffer);
    view.setUint32(0, PICOBOOT_MAGIC, true);
    view.setUint32(4, token, true);
    packet[8] = id;
    packet[9] = argSize;
    view.setUint32(12, transferLength, true);
    packet.set(args.slice(0, 16), 16);

    const sent = await this.#device.transferOut(this.#bulkOut, packet);
    if (sent.status !== "ok") throw await this.#failure(id, phase.address);

    let data = new Uint8Array();
    if (phase.out !== undefined) {
      const written = await this.#device.transferOut(this.#bulkOut, toBufferSource(phase.out));
      if (written.status !== "ok" || written.bytesWritten !== phase.out.length) throw await this.#failure(id, phase.address);
      const ack = await this.#device.transferIn(this.#bulkIn, 1);
      if (ack.status !== "ok") throw await this.#failure(id, phase.address);
    } else if (transferLength > 0) {
      const received = await this.#device.transferIn(this.#bulkIn, transferLength);
      data = bytesOf(received.data);
      if (received.status !== "ok" || data.length !== transferLength) throw await this.#failure(id, phase.address);
      const ack = await this.#device.transferOut(this.#bulkOut, new Uint8Array());
      if (ack.status !== "ok") throw await this.#failure(id, phase.address);
    } else {
      const ack = await this.#device.transferIn(this.#bulkIn, 1);
      if (ack.status !== "ok") throw await this.#failure(id, phase.address);
    }
    return data;
  }

  /** Reads why the bootrom stalled, clears the halts, and returns the error to throw. */
  async #failure(id: number, address: number | undefined): Promise<DeviceHalError> {
    const status = await this.commandStatus().catch(() => undefined);
    await this.reset().catch(() => {});

    const name = commandName(id);
    const where = address === undefined ? "" : ` at ${hex(address)}`;
    const why = status === undefined ? "no status available" : status.statusName;
    return new DeviceHalError("PICOBOOT_ERROR", `PICOBOOT ${name}${where} failed: ${why}`, { status: status?.status, address });
  }
}

function commandName(id: number): string {
  return Object.entries(PICOBOOT_COMMAND).find(([, value]) => value === id)?.[0] ?? `0x${id.toString(16)}`;
}

/** Little-endian 32-bit words as argument bytes. */
function words(...values: number[]): number[] {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setUint32(i * 4, value >>> 0, true));
  return [...bytes];
}

function otpArgs(row: number, rowCount: number, ecc: boolean): number[] {
  return [row & 0xff, row >> 8, rowCount & 0xff, rowCount >> 8, ecc ? 1 : 0];
}
