/**
 * The rescue (management) applet of the Pico firmware SDK, AID A0 58 3F C1 9B
 * 7E 4F 21. pypicokey selects it first and refuses a device whose product byte
 * is not 01 (HSM). Commands need CLA 80:
 * - 1E 01: PHY configuration (empty: there is no USB PHY);
 * - 1E 02: flash information, five u32: free, used, total, number of files, flash size;
 * - 1E 03: secure-boot status (disabled);
 * - 1E 04: the device clock (P2 01: YYYY MM DD WD hh mm ss, P2 02: u32 Unix time);
 * - 1C 01: PHY write (accepted, ignored); 1C 02: set the device clock.
 * The clock is the host clock plus an offset set by 1C 02, kept in memory.
 */
import { CardError, SW, type Applet, type AppletResponse, type CommandApdu } from "@hsmkit/apdu";
import type { Keystore } from "@hsmkit/keystore";
import { RESCUE_AID, VERSION_MAJOR, VERSION_MINOR } from "../hsm/constants.ts";
import { decodeCalendar, encodeCalendar } from "../policy/clock.ts";

/** Platform byte of the SELECT response: 03 = emulation. */
const PLATFORM_EMULATION = 0x03;
/** Product byte of the SELECT response: 01 = HSM. */
const PRODUCT_HSM = 0x01;

/** Flash size the device reports, bytes (a synthesised figure: storage is a directory). */
export const REPORTED_FLASH_SIZE = 4 * 1024 * 1024;

const CLA_PROPRIETARY = 0x80;
const INS_WRITE = 0x1c;
const INS_READ = 0x1e;

export interface RescueAppletOptions {
  keystore: Keystore;
  /** Returns the device serial (8 bytes are reported). */
  serial: () => Uint8Array;
  /** Host clock in milliseconds; defaults to Date.now. */
  now?: () => number;
}

export class RescueApplet implements Applet {
  readonly aid = RESCUE_AID;
  readonly #options: RescueAppletOptions;
  /** Milliseconds added to the host clock; undefined until the clock was set. */
  #clockOffset: number | undefined;

  constructor(options: RescueAppletOptions) {
    this.#options = options;
  }

  /** Returns platform ‖ product ‖ version major ‖ minor ‖ serial(8), whatever Le requests. */
  select(_command: CommandApdu): AppletResponse {
    const data = new Uint8Array(12);
    data.set([PLATFORM_EMULATION, PRODUCT_HSM, VERSION_MAJOR, VERSION_MINOR]);
    data.set(this.#options.serial().subarray(0, 8), 4);
    return { data, ne: data.length };
  }

  async process(command: CommandApdu): Promise<AppletResponse> {
    if (command.cla !== CLA_PROPRIETARY) throw new CardError(SW.CLA_NOT_SUPPORTED, `rescue applet: CLA must be 80, got ${hex(command.cla)}`);

    if (command.ins === INS_READ) return this.read(command);
    if (command.ins === INS_WRITE) return this.write(command);
    throw new CardError(SW.INS_NOT_SUPPORTED, `rescue applet: INS ${hex(command.ins)} not supported`);
  }

  private async read(command: CommandApdu): Promise<AppletResponse> {
    if (command.data.length !== 0) throw new CardError(SW.WRONG_LENGTH, "rescue read commands take no data");

    switch (command.p1) {
      case 0x01:
        return {};
      case 0x02:
        return { data: await this.flashInfo() };
      case 0x03:
        return { data: new Uint8Array([0x00, 0x00, 0x00]) };
      case 0x04:
        return { data: this.readClock(command.p2) };
      default:
        throw new CardError(SW.INCORRECT_P1P2, `rescue read: P1 ${hex(command.p1)} not supported`);
    }
  }

  private write(command: CommandApdu): AppletResponse {
    switch (command.p1) {
      case 0x01:
        return {};
      case 0x02:
        this.setClock(command.p2, command.data);
        return {};
      default:
        throw new CardError(SW.INCORRECT_P1P2, `rescue write: P1 ${hex(command.p1)} not supported`);
    }
  }

  /** Returns free, used, total, number of files, flash size: u32 each, big-endian. */
  private async flashInfo(): Promise<Uint8Array> {
    const names = await this.#options.keystore.list();
    let used = 0;
    for (const name of names) used += (await this.#options.keystore.getFile(name))?.length ?? 0;
    used = Math.min(used, REPORTED_FLASH_SIZE);

    const out = new Uint8Array(20);
    const view = new DataView(out.buffer);
    view.setUint32(0, REPORTED_FLASH_SIZE - used);
    view.setUint32(4, used);
    view.setUint32(8, REPORTED_FLASH_SIZE);
    view.setUint32(12, names.length);
    view.setUint32(16, REPORTED_FLASH_SIZE);
    return out;
  }

  private readClock(form: number): Uint8Array {
    if (this.#clockOffset === undefined) throw new CardError(SW.CONDITIONS_NOT_SATISFIED, "the device clock was never set");
    const now = new Date(this.now() + this.#clockOffset);

    if (form === 0x01) return encodeCalendar(now.getTime());
    if (form === 0x02) {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, Math.floor(now.getTime() / 1000));
      return out;
    }
    throw new CardError(SW.INCORRECT_P1P2, `rescue clock: P2 ${hex(form)} not supported`);
  }

  private setClock(form: number, data: Uint8Array): void {
    let time: number;
    if (form === 0x01) {
      time = decodeCalendar(data);
    } else if (form === 0x02) {
      if (data.length !== 4) throw new CardError(SW.WRONG_LENGTH, "the Unix form of the clock is 4 bytes");
      time = new DataView(data.buffer, data.byteOffset, 4).getUint32(0) * 1000;
    } else {
      throw new CardError(SW.INCORRECT_P1P2, `rescue clock: P2 ${hex(form)} not supported`);
    }

    if (!Number.isFinite(time)) throw new CardError(SW.WRONG_DATA, "invalid date");
    this.#clockOffset = time - this.now();
  }

  private now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
