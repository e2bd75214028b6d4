/**
 * An RP2040 or RP2350 in BOOTSEL: mass-storage interface 0 (not simulated
 * beyond its descriptor) and PICOBOOT interface 1 with bulk OUT 3 and IN 4.
 * Endpoint numbers vary on real chips, so hosts must read them from the
 * descriptors. The flash model erases to 0xFF in 4 KiB sectors and programs
 * by bitwise AND, so a write without an erase is visible.
 */
import { CHIPS, type ChipId } from "../boards.ts";
import { PICOBOOT_COMMAND, PICOBOOT_MAGIC, PICOBOOT_REQUEST } from "../picoboot.ts";
import type { UsbControlTransferParameters, UsbDirection, UsbInTransferResult, UsbOutTransferResult } from "../webusb.ts";
import { bulk, dataView, SimulatedUsbDevice } from "./simulated-usb.ts";
import { concatBytes } from "@hsmkit/tlv";

export const PICOBOOT_STATUS = {
  OK: 0,
  UNKNOWN_CMD: 1,
  INVALID_CMD_LENGTH: 2,
  INVALID_TRANSFER_LENGTH: 3,
  INVALID_ADDRESS: 4,
  BAD_ALIGNMENT: 5,
  UNKNOWN_ERROR: 8,
  INVALID_STATE: 9,
  NOT_PERMITTED: 10,
} as const;

const FLASH_BASE = 0x10000000;
const SECTOR = 4096;
const PAGE = 256;
const OUT_ENDPOINT = 3;
const IN_ENDPOINT = 4;

/** RP2350 Pico HSM data partition: flash offset 1032 KiB, 3064 KiB, read-only for the bootloader. */
const RP2350_DATA_PARTITION = { start: FLASH_BASE + 1032 * 1024, end: FLASH_BASE + 4096 * 1024 };

export interface SimulatedPicobootOptions {
  chip: Exclude<ChipId, "esp32s3">;
  /** Flash size in bytes; default the chip's reference board. */
  flashSize?: number;
  serialNumber?: string;
  /** Fails WRITE data phases that start at `address`, `times` times, with UNKNOWN_ERROR (a flash write error). */
  failWrite?: { address: number; times: number };
  /** Called when REBOOT or REBOOT2 completes; the device then leaves the bus. */
  onReboot?: (command: { id: number; args: number[] }) => void;
}

/** Argument sizes (bCmdSize) each command requires. */
const ARG_SIZES: Record<number, number> = {
  [PICOBOOT_COMMAND.EXCLUSIVE_ACCESS]: 1,
  [PICOBOOT_COMMAND.REBOOT]: 12,
  [PICOBOOT_COMMAND.FLASH_ERASE]: 8,
  [PICOBOOT_COMMAND.READ]: 8,
  [PICOBOOT_COMMAND.WRITE]: 8,
  [PICOBOOT_COMMAND.EXIT_XIP]: 0,
  [PICOBOOT_COMMAND.ENTER_CMD_XIP]: 0,
  [PICOBOOT_COMMAND.REBOOT2]: 16,
  [PICOBOOT_COMMAND.OTP_READ]: 5,
  [PICOBOOT_COMMAND.OTP_WRITE]: 5,
};

/** OTP rows of the RP2350: 4096 rows of 24 bits. */
const OTP_ROWS = 4096;

type Phase =
  | { kind: "command" }
  | { kind: "data-in"; data: Uint8Array; then: () => void }
  | { kind: "data-out"; length: number; received: Uint8Array[]; execute: (data: Uint8Array) => number }
  | { kind: "ack-in"; then: () => void }
  | { kind: "ack-out"; then: () => void };

export class SimulatedPicobootDevice extends SimulatedUsbDevice {
  readonly flash: Uint8Array;
  /** RP2350 OTP rows (24 bits each; ECC rows keep their 16 data bits in the low half). Bits can only be set. */
  readonly otp = new Uint32Array(OTP_ROWS);
  readonly chip: Exclude<ChipId, "esp32s3">;
  /** EXCLUSIVE_ACCESS state: 0 none, 1 exclusive, 2 exclusive and ejected. */
  exclusive = 0;
  /** RP2040 only: false after EXIT_XIP; flash commands fail with INVALID_STATE while true. */
  xipActive = true;
  /** Every command received, as its name-free id and argument words, for tests. */
  readonly commands: { id: number; args: number[] }[] = [];
  readonly #options: SimulatedPicobootOptions;
  #phase: Phase = { kind: "command" };
  #halted = false;
  #last = { token: 0, status: 0, id: 0 };
  #failuresLeft: number;

  constructor(options: SimulatedPicobootOptions) {
    const facts = CHIPS[options.chip];
    super(
      {
        vendorId: facts.bootloaderUsb.vendorId,
        productId: facts.bootloaderUsb.productId,
        manufacturerName: "Raspberry Pi",
        productName: options.chip === "rp2040" ? "RP2 Boot" : "RP2350 Boot",
        serialNumber: options.serialNumber ?? "E6605838AB1C2D30",
      },
      [
        { interfaceNumber: 0, interfaceClass: 0x08, interfaceSubclass: 0x06, interfaceProtocol: 0x50, endpoints: [bulk(1, "out"), bulk(2, "in")] },
        { interfaceNumber: 1, interfaceClass: 0xff, endpoints: [bulk(OUT_ENDPOINT, "out"), bulk(IN_ENDPOINT, "in")] },
      ],
    );
    this.chip = options.chip;
    this.#options = options;
    this.flash = new Uint8Array(options.flashSize ?? facts.defaultFlashSize).fill(0xff);
    this.#failuresLeft = options.failWrite?.times ?? 0;
  }

  /**
   * Sets the OTP rows that the firmware's secure-boot command burns: the key
   * hash in boot-key slot `slot` (16 ECC rows), its KEY_VALID bit in
   * BOOT_FLAGS1, and SECURE_BOOT_ENABLE in CRIT1, each with its copies.
   */
  provisionSecureBoot(slot: number, keyHash: Uint8Array): void {
    for (let i = 0; i < 16; i++) this.otp[0x80 + slot * 16 + i] |= keyHash[i * 2] | (keyHash[i * 2 + 1] << 8);
    for (let copy = 0; copy < 3; copy++) this.otp[0x4b + copy] |= 1 << slot;
    for (let copy = 0; copy < 8; copy++) this.otp[0x40 + copy] |= 0x01;
  }

  protected async handleOut(_endpoint: number, data: Uint8Array): Promise<UsbOutTransferResult> {
    if (this.#halted) return { status: "stall", bytesWritten: 0 };
    const phase = this.#phase;

    if (phase.kind === "command") return this.#command(data);
    if (phase.kind === "ack-out" && data.length === 0) {
      this.#phase = { kind: "command" };
      phase.then();
      return { status: "ok", bytesWritten: 0 };
    }
    if (phase.kind === "data-out") {
      phase.received.push(data);
      const total = phase.received.reduce((sum, part) => sum + part.length, 0);
      if (total < phase.length) return { status: "ok", bytesWritten: data.length };

      const status = total === phase.length ? phase.execute(concatBytes(...phase.received)) : PICOBOOT_STATUS.INVALID_TRANSFER_LENGTH;
      if (status !== PICOBOOT_STATUS.OK) return this.#stall(status);
      this.#phase = { kind: "ack-in", then: () => {} };
      return { status: "ok", bytesWritten: data.length };
    }
    return this.#stall(PICOBOOT_STATUS.INVALID_STATE);
  }

  protected async handleIn(_endpoint: number, length: number): Promise<UsbInTransferResult> {
    if (this.#halted) return { status: "stall" };
    const phase = this.#phase;

    if (phase.kind === "ack-in") {
      this.#phase = { kind: "command" };
      phase.then();
      return { status: "ok", data: dataView(new Uint8Array()) };
    }
    if (phase.kind === "data-in") {
      if (length < phase.data.length) return { status: "babble" };
      this.#phase = { kind: "ack-out", then: phase.then };
      return { status: "ok", data: dataView(phase.data) };
    }
    this.#stall(PICOBOOT_STATUS.INVALID_STATE);
    return { status: "stall" };
  }

  protected override async handleControlIn(setup: UsbControlTransferParameters, length: number): Promise<UsbInTransferResult> {
    if (setup.request !== PICOBOOT_REQUEST.GET_COMMAND_STATUS || length < 16) return { status: "stall" };
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.#last.token, true);
    view.setUint32(4, this.#last.status, true);
    bytes[8] = this.#last.id;
    return { status: "ok", data: dataView(bytes) };
  }

  protected override async handleControlOut(setup: UsbControlTransferParameters): Promise<UsbOutTransferResult> {
    if (setup.request !== PICOBOOT_REQUEST.INTERFACE_RESET) return { status: "stall", bytesWritten: 0 };
    this.#halted = false;
    this.#phase = { kind: "command" };
    this.exclusive = 0;
    this.#last = { token: 0, status: 0, id: 0 };
    return { status: "ok", bytesWritten: 0 };
  }

  protected override handleClearHalt(_direction: UsbDirection, _endpoint: number): void {
    this.#halted = false;
  }

  #command(packet: Uint8Array): UsbOutTransferResult {
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    if (packet.length !== 32 || view.getUint32(0, true) !== PICOBOOT_MAGIC) return this.#stall(PICOBOOT_STATUS.UNKNOWN_CMD);

    const token = view.getUint32(4, true);
    const id = packet[8];
    const argSize = packet[9];
    const transferLength = view.getUint32(12, true);
    const args = [0, 1, 2, 3].map((i) => view.getUint32(16 + i * 4, true));
    this.#last = { token, status: PICOBOOT_STATUS.OK, id };
    this.commands.push({ id, args });

    if (!this.#supports(id)) return this.#stall(PICOBOOT_STATUS.UNKNOWN_CMD);
    if (ARG_SIZES[id] !== argSize) return this.#stall(PICOBOOT_STATUS.INVALID_CMD_LENGTH);

    const dataIn = (id & 0x80) !== 0;
    const expectedLength = this.#transferLength(id, args);
    if (transferLength !== expectedLength) return this.#stall(PICOBOOT_STATUS.INVALID_TRANSFER_LENGTH);

    let status: number;
    if (id === PICOBOOT_COMMAND.OTP_READ) status = this.#startOtpRead(args);
    else if (id === PICOBOOT_COMMAND.OTP_WRITE) status = this.#startOtpWrite(args);
    else if (dataIn) status = this.#startRead(args);
    else if (id === PICOBOOT_COMMAND.WRITE) status = this.#startWrite(args);
    else status = this.#execute(id, args);
    if (status !== PICOBOOT_STATUS.OK) return this.#stall(status);
    return { status: "ok", bytesWritten: 32 };
  }

  #supports(id: number): boolean {
    if (id === PICOBOOT_COMMAND.REBOOT) return this.chip === "rp2040";
    if (id === PICOBOOT_COMMAND.REBOOT2 || id === PICOBOOT_COMMAND.OTP_READ || id === PICOBOOT_COMMAND.OTP_WRITE) return this.chip === "rp2350";
    return id in ARG_SIZES;
  }

  #execute(id: number, args: number[]): number {
    switch (id) {
      case PICOBOOT_COMMAND.EXCLUSIVE_ACCESS:
        this.exclusive = args[0] & 0xff;
        break;
      case PICOBOOT_COMMAND.EXIT_XIP:
        this.xipActive = false;
        break;
      case PICOBOOT_COMMAND.ENTER_CMD_XIP:
        this.xipActive = true;
        break;
      case PICOBOOT_COMMAND.FLASH_ERASE: {
        const status = this.#checkFlashAccess(args[0], args[1], SECTOR, true);
        if (status !== PICOBOOT_STATUS.OK) return status;
        this.flash.fill(0xff, args[0] - FLASH_BASE, args[0] - FLASH_BASE + args[1]);
        break;
      }
      case PICOBOOT_COMMAND.REBOOT:
      case PICOBOOT_COMMAND.REBOOT2:
        this.#phase = {
          kind: "ack-in",
          then: () => {
            this.#options.onReboot?.({ id, args });
            this.disconnect();
          },
        };
        return PICOBOOT_STATUS.OK;
    }
    this.#phase = { kind: "ack-in", then: () => {} };
    return PICOBOOT_STATUS.OK;
  }

  #transferLength(id: number, args: number[]): number {
    if (id === PICOBOOT_COMMAND.READ || id === PICOBOOT_COMMAND.WRITE) return args[1];
    if (id === PICOBOOT_COMMAND.OTP_READ || id === PICOBOOT_COMMAND.OTP_WRITE) {
      const { rowCount, ecc } = otpArgs(args);
      return rowCount * (ecc ? 2 : 4);
    }
    return 0;
  }

  #startOtpRead(args: number[]): number {
    const { row, rowCount, ecc } = otpArgs(args);
    if (row + rowCount > OTP_ROWS) return PICOBOOT_STATUS.INVALID_ADDRESS;

    const data = new Uint8Array(rowCount * (ecc ? 2 : 4));
    const view = new DataView(data.buffer);
    for (let i = 0; i < rowCount; i++) {
      if (ecc) view.setUint16(i * 2, this.otp[row + i] & 0xffff, true);
      else view.setUint32(i * 4, this.otp[row + i], true);
    }
    this.#phase = { kind: "data-in", data, then: () => {} };
    return PICOBOOT_STATUS.OK;
  }

  #startOtpWrite(args: number[]): number {
    const { row, rowCount, ecc } = otpArgs(args);
    if (row + rowCount > OTP_ROWS) return PICOBOOT_STATUS.INVALID_ADDRESS;

    this.#phase = {
      kind: "data-out",
      length: rowCount * (ecc ? 2 : 4),
      received: [],
      execute: (data) => {
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        for (let i = 0; i < rowCount; i++) this.otp[row + i] |= ecc ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true) & 0xffffff;
        return PICOBOOT_STATUS.OK;
      },
    };
    return PICOBOOT_STATUS.OK;
  }

  #startRead(args: number[]): number {
    const [address, size] = args;
    const status = this.#checkFlashAccess(address, size, 1, false);
    if (status !== PICOBOOT_STATUS.OK) return status;
    this.#phase = { kind: "data-in", data: this.flash.slice(address - FLASH_BASE, address - FLASH_BASE + size), then: () => {} };
    return PICOBOOT_STATUS.OK;
  }

  #startWrite(args: number[]): number {
    const [address, size] = args;
    const status = this.#checkFlashAccess(address, size, PAGE, true);
    if (status !== PICOBOOT_STATUS.OK) return status;

    this.#phase = {
      kind: "data-out",
      length: size,
      received: [],
      execute: (data) => {
        if (this.#options.failWrite?.address === address && this.#failuresLeft > 0) {
          this.#failuresLeft--;
          // A failing program operation leaves the page partly written.
          this.flash.fill(0x00, address - FLASH_BASE, address - FLASH_BASE + 16);
          return PICOBOOT_STATUS.UNKNOWN_ERROR;
        }
        const offset = address - FLASH_BASE;
        for (let i = 0; i < data.length; i++) this.flash[offset + i] &= data[i];
        return PICOBOOT_STATUS.OK;
      },
    };
    return PICOBOOT_STATUS.OK;
  }

  /** Checks alignment, bounds, XIP state (RP2040) and the RP2350 data partition's read-only permission. */
  #checkFlashAccess(address: number, size: number, alignment: number, modifies: boolean): number {
    if (address % alignment !== 0 || size % alignment !== 0) return PICOBOOT_STATUS.BAD_ALIGNMENT;
    if (address < FLASH_BASE || address + size > FLASH_BASE + this.flash.length) return PICOBOOT_STATUS.INVALID_ADDRESS;
    if (this.chip === "rp2040" && this.xipActive) return PICOBOOT_STATUS.INVALID_STATE;
    if (modifies && this.chip === "rp2350" && address < RP2350_DATA_PARTITION.end && address + size > RP2350_DATA_PARTITION.start) return PICOBOOT_STATUS.NOT_PERMITTED;
    return PICOBOOT_STATUS.OK;
  }

  #stall(status: number): UsbOutTransferResult {
    this.#last.status = status;
    this.#halted = true;
    this.#phase = { kind: "command" };
    return { status: "stall", bytesWritten: 0 };
  }
}

/** Decodes OTP_READ/OTP_WRITE arguments: wRow, wRowCount, bEcc. */
function otpArgs(args: number[]): { row: number; rowCount: number; ecc: boolean } {
  return { row: args[0] & 0xffff, rowCount: args[0] >>> 16, ecc: (args[1] & 0xff) !== 0 };
}
