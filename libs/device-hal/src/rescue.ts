/**
 * Client of the rescue applet (AID A0 58 3F C1 9B 7E 4F 21) that every Pico
 * Keys firmware carries: board identity, PHY record, flash statistics,
 * secure-boot status, reboots, and the irreversible secure-boot burn.
 * Commands use CLA 80; INS 1E READ, 1C WRITE, 1D SECURE, 1F REBOOT.
 */
import { SW, transmitApdu, type CommandApduFields, type Transmit } from "@hsmkit/apdu";
import { chipByRescueMcuCode, type ChipFacts } from "./boards.ts";
import { DeviceHalError } from "./errors.ts";
import { encodePhy, keepsCcidReachable, parsePhy, type PhyData } from "./phy.ts";

export const RESCUE_AID = Uint8Array.of(0xa0, 0x58, 0x3f, 0xc1, 0x9b, 0x7e, 0x4f, 0x21);

const CLA = 0x80;
export const RESCUE_INS = { KEYDEV: 0x10, WRITE: 0x1c, SECURE: 0x1d, READ: 0x1e, REBOOT: 0x1f } as const;

const PRODUCTS: Record<number, string> = { 1: "HSM", 2: "FIDO", 3: "OpenPGP" };

/** Highest usable boot-key slot: the RP2350 has 4 (the firmware accepts up to 5), the ESP32-S3 has 3 digest slots. */
const MAX_BOOT_KEY_INDEX: Partial<Record<string, number>> = { rp2350: 3, esp32s3: 2 };

export interface RescueIdentity {
  /** MCU byte: 0 RP2040, 1 RP2350, 2 ESP32-S3, 3 desktop emulation, 4 ESP32-S2. */
  mcu: number;
  chip: ChipFacts | undefined;
  product: string;
  version: { major: number; minor: number };
  /** Unique chip ID; the same bytes as the USB serial string. */
  serial: Uint8Array;
}

export interface FlashStatistics {
  free: number;
  used: number;
  total: number;
  files: number;
  flashSize: number;
  /** Firmware image size; RP2040 and RP2350 only. */
  firmwareSize?: number;
}

export interface SecureBootStatus {
  enabled: boolean;
  locked: boolean;
  /** Boot-key slot in use, or undefined (0xFF). */
  keyIndex: number | undefined;
}

/** Rescue-applet commands over any `transmit` (a board through CcidReader, a simulator, a virtual device). */
export class RescueClient {
  readonly #transmit: Transmit;

  constructor(transmit: Transmit) {
    this.#transmit = transmit;
  }

  /** Selects the applet and decodes its response: MCU, product, version, serial. */
  async select(): Promise<RescueIdentity> {
    const data = await this.#send({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x04, data: RESCUE_AID, ne: 256 }, "SELECT rescue applet");
    if (data.length < 4) throw new DeviceHalError("RESCUE_ERROR", `rescue SELECT returned ${data.length} bytes; expected at least 4`);
    return {
      mcu: data[0],
      chip: chipByRescueMcuCode(data[0]),
      product: PRODUCTS[data[1]] ?? `product ${data[1]}`,
      version: { major: data[2], minor: data[3] },
      serial: data.slice(4),
    };
  }

  async readPhy(): Promise<PhyData> {
    return parsePhy(await this.#send(read(0x01), "READ PHY"));
  }

  /**
   * Replaces the whole PHY record (fields left out are cleared). Refuses a
   * record that disables both CCID interfaces, which would leave the rescue
   * applet unreachable until the data area is erased. Needs user presence.
   */
  async writePhy(phy: PhyData): Promise<void> {
    if (!keepsCcidReachable(phy)) {
      throw new DeviceHalError("INVALID_ARGUMENT", "the PHY record disables both CCID and WebCCID; the board would become unreachable. Keep bit 0x01 or 0x02 in the USB interface mask");
    }
    await this.#send({ cla: CLA, ins: RESCUE_INS.WRITE, p1: 0x01, p2: 0x00, data: encodePhy(phy) }, "WRITE PHY");
  }

  /** Reads the PHY record, applies `change`, and writes the whole record back. Returns what was written. */
  async updatePhy(change: (phy: PhyData) => PhyData): Promise<PhyData> {
    const next = change(await this.readPhy());
    await this.writePhy(next);
    return next;
  }

  async flashStatistics(): Promise<FlashStatistics> {
    const data = await this.#send(read(0x02), "READ flash statistics");
    if (data.length < 20) throw new DeviceHalError("RESCUE_ERROR", `flash statistics of ${data.length} bytes; expected 20 or 24`);
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    const word = (index: number) => view.getUint32(index * 4, false);
    return { free: word(0), used: word(1), total: word(2), files: word(3), flashSize: word(4), firmwareSize: data.length >= 24 ? word(5) : undefined };
  }

  async secureBootStatus(): Promise<SecureBootStatus> {
    const data = await this.#send(read(0x03), "READ secure-boot status");
    if (data.length < 3) throw new DeviceHalError("RESCUE_ERROR", `secure-boot status of ${data.length} bytes; expected 3`);
    return { enabled: data[0] === 1, locked: data[1] === 1, keyIndex: data[2] === 0xff ? undefined : data[2] };
  }

  /** Reboots into the application (RP2040/RP2350). The board then leaves the bus; rediscover it by serial. */
  async reboot(): Promise<void> {
    await this.#send({ cla: CLA, ins: RESCUE_INS.REBOOT, p1: 0x00, p2: 0x00 }, "REBOOT");
  }

  /**
   * Reboots into BOOTSEL (RP2040/RP2350, needs user presence). The firmware
   * usually reboots before it responds, so a lost response counts as success.
   */
  async rebootToBootloader(): Promise<void> {
    try {
      await this.#send({ cla: CLA, ins: RESCUE_INS.REBOOT, p1: 0x01, p2: 0x00 }, "REBOOT to BOOTSEL");
    } catch (error) {
      if (error instanceof DeviceHalError && error.code === "RESCUE_ERROR") throw error;
      // NOTE: any transport error here is taken as the board having rebooted.
    }
  }

  /**
   * Burns secure boot with the Pico Keys vendor key in boot-key slot
   * `keyIndex` (RP2350: 0..3, ESP32-S3: 0..2). With `lock` it also disables
   * debug and every other key slot. The burn is permanent: the chip then boots
   * only vendor-signed firmware. Throws unless `confirmIrreversible` is true.
   */
  async enableSecureBoot(options: { keyIndex: number; lock: boolean; confirmIrreversible: boolean; chip: ChipFacts }): Promise<void> {
    if (options.confirmIrreversible !== true) {
      throw new DeviceHalError("INVALID_ARGUMENT", "enabling secure boot is permanent and was not confirmed; pass confirmIrreversible only for a board that will run vendor-signed firmware forever");
    }
    const maxIndex = MAX_BOOT_KEY_INDEX[options.chip.id];
    if (maxIndex === undefined) throw new DeviceHalError("INVALID_ARGUMENT", `${options.chip.name} has no secure boot; only RP2350 and ESP32-S3 do`);
    if (!Number.isInteger(options.keyIndex) || options.keyIndex < 0 || options.keyIndex > maxIndex) {
      throw new DeviceHalError("INVALID_ARGUMENT", `boot-key index ${options.keyIndex} is out of range for ${options.chip.name}: use 0 to ${maxIndex}`);
    }
    await this.#send({ cla: CLA, ins: RESCUE_INS.SECURE, p1: options.keyIndex, p2: options.lock ? 0x01 : 0x00 }, "SECURE");
  }

  async #send(command: CommandApduFields, what: string): Promise<Uint8Array> {
    const response = await transmitApdu(this.#transmit, command);
    if (response.sw !== SW.OK) {
      const hint = response.sw === SW.CONDITIONS_NOT_SATISFIED ? ": user presence was not confirmed; press the BOOTSEL/BOOT button when the LED blinks and retry" : "";
      throw new DeviceHalError("RESCUE_ERROR", `${what} failed with SW ${response.sw.toString(16).toUpperCase().padStart(4, "0")}${hint}`, { sw: response.sw });
    }
    return response.data;
  }
}

function read(p1: number): CommandApduFields {
  return { cla: CLA, ins: RESCUE_INS.READ, p1, p2: 0x00, ne: 256 };
}
