// A small applet and runtime wrapper shared by the runtime tests.
import { fromHex, toHex } from "@hsmkit/tlv";
import { CardError, CardRuntime, SW, type Applet, type AppletResponse, type CardRuntimeOptions, type CommandApdu } from "../src/index.ts";

export const HSM_AID = fromHex("E8 2B 06 01 04 01 81 C3 1F 02 01");
export const RESCUE_AID = fromHex("A0 58 3F C1 9B 7E 4F 21");
export const ATR = fromHex("3B FE 18 00 00 81 31 FE 45 80 31 81 54 48 53 4D 31 73 80 21 40 81 07 FA");

/** Returns `length` bytes 00, 01, ... FF, 00, ... */
export function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => index & 0xff);
}

/** INS values the test applet implements. */
export const INS = {
  ECHO: 0x10,
  /** Returns P1P2 bytes of `pattern`. */
  PATTERN: 0x12,
  DENY: 0x14,
  WARNING_WITH_DATA: 0x16,
  BUG: 0x18,
  /** Returns P1P2 bytes of `pattern` with Ne replaced by their count. */
  WHOLE: 0x1a,
  /** Echoes after P1 milliseconds. */
  SLOW_ECHO: 0x1c,
} as const;

/** Test applet that records every SELECT and command it receives. */
export class TestApplet implements Applet {
  readonly selects: CommandApdu[] = [];
  readonly commands: CommandApdu[] = [];
  deselectCount = 0;

  constructor(
    readonly aid: Uint8Array,
    readonly name: string,
  ) {}

  select(command: CommandApdu): AppletResponse {
    this.selects.push(command);
    return { data: new TextEncoder().encode(this.name) };
  }

  deselect(): void {
    this.deselectCount++;
  }

  async process(command: CommandApdu): Promise<AppletResponse> {
    this.commands.push(command);
    const count = (command.p1 << 8) | command.p2;

    switch (command.ins) {
      case INS.ECHO:
        return { data: command.data };
      case INS.PATTERN:
        return { data: pattern(count) };
      case INS.DENY:
        throw new CardError(SW.SECURITY_STATUS_NOT_SATISFIED, "PIN not verified");
      case INS.WARNING_WITH_DATA:
        return { data: pattern(4), sw: SW.END_OF_FILE };
      case INS.BUG:
        throw new Error("simulated bug");
      case INS.WHOLE:
        return { data: pattern(count), ne: count };
      case INS.SLOW_ECHO:
        await new Promise((resolve) => setTimeout(resolve, command.p1));
        return { data: command.data };
      default:
        throw new CardError(SW.INS_NOT_SUPPORTED);
    }
  }
}

export interface Logged {
  ins?: number;
  sw: number;
  detail?: string;
}

/** Creates a runtime with an HSM-like and a rescue-like test applet and a log of every SW sent. */
export function createCard(options: Partial<CardRuntimeOptions> = {}) {
  const hsm = new TestApplet(HSM_AID, "hsm");
  const rescue = new TestApplet(RESCUE_AID, "rescue");
  const log: Logged[] = [];
  const errors: unknown[] = [];
  const runtime = new CardRuntime({
    atr: ATR,
    applets: [hsm, rescue],
    onCommand: (command, sw, detail) => log.push({ ins: command?.ins, sw, detail }),
    onError: (error) => errors.push(error),
    ...options,
  });

  /** Sends a hex frame and returns the response as hex with a space before the SW. */
  async function send(hex: string): Promise<string> {
    const response = toHex(await runtime.transmit(fromHex(hex)));
    return `${response.slice(0, -4)} ${response.slice(-4)}`.trim();
  }

  return { runtime, hsm, rescue, log, errors, send };
}

export const SELECT_HSM = `00 A4 04 00 0B ${toHex(HSM_AID)} 00`;
export const SELECT_RESCUE = `00 A4 04 04 08 ${toHex(RESCUE_AID)} 00`;
