/**
 * The rescue applet of the Pico Keys firmware as an in-memory card. It
 * implements SELECT by AID A0 58 3F C1 9B 7E 4F 21, READ (1E) of the PHY record,
 * flash statistics and secure-boot status, WRITE (1C) of the whole PHY record,
 * SECURE (1D) burning a fake OTP, and REBOOT (1F). Commands that need user presence consult a button
 * model, and a refused or timed-out press returns 6985.
 */
import { encodeResponseApdu, parseCommandApdu, SW, type CommandApdu } from "@hsmkit/apdu";
import { CHIPS, type ChipId } from "../boards.ts";
import { RESCUE_AID, RESCUE_INS } from "../rescue.ts";
import type { SimulatedCard } from "./simulated-ccid-device.ts";

/** ATR of Pico HSM and of the rescue-only image (historical bytes spell "HSM1"). */
export const PICO_HSM_ATR = Uint8Array.of(0x3b, 0xfe, 0x18, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4d, 0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xfa);

/** User behaviour when the firmware waits for a button press. */
export type ButtonModel = "press" | "ignore";

/** Fake OTP/eFuse state: records burns and rejects a conflicting second burn. */
export interface FakeOtp {
  secureBoot: boolean;
  locked: boolean;
  keyIndex: number | undefined;
  /** Every burn in order, e.g. "boot key 0", "secure boot", "lock". */
  burns: string[];
}

export interface SimulatedRescueCardOptions {
  chip: ChipId;
  serial?: Uint8Array;
  version?: { major: number; minor: number };
  /** Initial PHY record bytes; default VID:PID 2E8A:10FD and OPTS 0. */
  phy?: Uint8Array;
  button?: ButtonModel;
  /** Called after the REBOOT response is sent, or instead of it for a reboot into BOOTSEL. */
  onReboot?: (toBootloader: boolean) => void;
}

const PRESENCE_REFUSED = SW.CONDITIONS_NOT_SATISFIED;

export class SimulatedRescueCard implements SimulatedCard {
  readonly atr = PICO_HSM_ATR;
  readonly otp: FakeOtp = { secureBoot: false, locked: false, keyIndex: undefined, burns: [] };
  phy: Uint8Array;
  button: ButtonModel;
  readonly #options: SimulatedRescueCardOptions;
  #selected = false;

  constructor(options: SimulatedRescueCardOptions) {
    this.#options = options;
    this.phy = options.phy ?? Uint8Array.of(0x00, 0x04, 0x2e, 0x8a, 0x10, 0xfd, 0x06, 0x02, 0x00, 0x00);
    this.button = options.button ?? "press";
  }

  powerOff(): void {
    this.#selected = false;
  }

  async transmit(frame: Uint8Array): Promise<Uint8Array> {
    let command: CommandApdu;
    try {
      command = parseCommandApdu(frame);
    } catch {
      return encodeResponseApdu(new Uint8Array(), SW.WRONG_LENGTH);
    }

    if (command.ins === 0xa4 && command.p1 === 0x04) return this.#select(command);
    if (!this.#selected) return status(SW.INS_NOT_SUPPORTED);
    if (command.cla !== 0x80) return status(SW.CLA_NOT_SUPPORTED);

    switch (command.ins) {
      case RESCUE_INS.READ:
        return this.#read(command);
      case RESCUE_INS.WRITE:
        return this.#write(command);
      case RESCUE_INS.SECURE:
        return this.#secure(command);
      case RESCUE_INS.REBOOT:
        return this.#reboot(command);
      default:
        return status(SW.INS_NOT_SUPPORTED);
    }
  }

  #select(command: CommandApdu): Uint8Array {
    const matches = command.data.length >= RESCUE_AID.length && RESCUE_AID.every((byte, i) => command.data[i] === byte);
    this.#selected = matches;
    if (!matches) return status(SW.FILE_NOT_FOUND);

    const version = this.#options.version ?? { major: 6, minor: 6 };
    const serial = this.#options.serial ?? Uint8Array.of(0xe6, 0x60, 0x58, 0x38, 0xab, 0x1c, 0x2d, 0x30);
    const data = Uint8Array.of(CHIPS[this.#options.chip].rescueMcuCode, 0x01, version.major, version.minor, ...serial);
    return encodeResponseApdu(data, SW.OK);
  }

  #read(command: CommandApdu): Uint8Array {
    if (command.data.length !== 0) return status(SW.WRONG_LENGTH);
    switch (command.p1) {
      case 0x01:
        return encodeResponseApdu(this.phy, SW.OK);
      case 0x02: {
        const words = [0x2f0000, 0x10000, 0x300000, 12, CHIPS[this.#options.chip].defaultFlashSize];
        if (this.#options.chip !== "esp32s3") words.push(0x80000);
        const data = new Uint8Array(words.length * 4);
        words.forEach((word, i) => new DataView(data.buffer).setUint32(i * 4, word, false));
        return encodeResponseApdu(data, SW.OK);
      }
      case 0x03:
        return encodeResponseApdu(Uint8Array.of(this.otp.secureBoot ? 1 : 0, this.otp.locked ? 1 : 0, this.otp.keyIndex ?? 0xff), SW.OK);
      default:
        return status(SW.INCORRECT_P1P2);
    }
  }

  #write(command: CommandApdu): Uint8Array {
    if (command.data.length < 2) return status(SW.WRONG_LENGTH);
    if (command.p1 !== 0x01) return status(SW.OK);
    if (this.button !== "press") return status(PRESENCE_REFUSED);
    this.phy = command.data.slice();
    return status(SW.OK);
  }

  #secure(command: CommandApdu): Uint8Array {
    const chip = this.#options.chip;
    if (chip !== "rp2350" && chip !== "esp32s3") return status(SW.INS_NOT_SUPPORTED);
    if (command.data.length !== 0) return status(SW.WRONG_LENGTH);
    if (this.button !== "press") return status(PRESENCE_REFUSED);

    const index = command.p1;
    const lock = command.p2 === 0x01;
    if (this.otp.keyIndex !== undefined && this.otp.keyIndex !== index) return status(SW.EXECUTION_ERROR);
    if (chip === "esp32s3" && lock && !this.otp.secureBoot) return status(SW.EXECUTION_ERROR);

    if (this.otp.keyIndex === undefined) this.otp.burns.push(`boot key ${index}`);
    this.otp.keyIndex = index;
    if (!this.otp.secureBoot) this.otp.burns.push("secure boot");
    this.otp.secureBoot = true;
    if (lock && !this.otp.locked) {
      this.otp.burns.push("lock");
      this.otp.locked = true;
    }
    return status(SW.OK);
  }

  #reboot(command: CommandApdu): Uint8Array | Promise<Uint8Array> {
    if (this.#options.chip === "esp32s3") return status(SW.INS_NOT_SUPPORTED);
    if (command.p1 === 0x01) {
      if (this.button !== "press") return status(PRESENCE_REFUSED);
      // The firmware reboots into BOOTSEL before it can send the status word.
      queueMicrotask(() => this.#options.onReboot?.(true));
      return new Promise<Uint8Array>(() => {});
    }
    queueMicrotask(() => this.#options.onReboot?.(false));
    return status(SW.OK);
  }
}

function status(sw: number): Uint8Array {
  return encodeResponseApdu(new Uint8Array(), sw);
}
