/**
 * Card side of the APDU exchange: takes command frames, dispatches them to the
 * selected applet and returns response frames, in the order the SmartCard-HSM
 * firmware processes an APDU:
 *
 * 1. parse the frame (malformed: 6700, and the runtime keeps serving);
 * 2. INS C0 with response bytes pending: GET RESPONSE;
 * 3. command chaining with CLA b5 (0x10);
 * 4. CLA with secure-messaging bits 0x0C: the `secureMessaging` handler, else 6E00;
 * 5. SELECT by AID (INS A4, P1 04, P2 00 or 04): applet selection;
 * 6. no applet selected: 6A82, otherwise the applet processes the command;
 * 7. any SW other than 90XX drops the response data;
 * 8. response data beyond Ne is sent with 61XX and GET RESPONSE.
 */
import { toHex } from "@hsmkit/tlv";
import { CardError } from "./card-error.ts";
import { CommandChain } from "./command-chaining.ts";
import { MAX_COMMAND_APDU_LENGTH, parseCommandApdu, type CommandApdu } from "./command-apdu.ts";
import { splitResponse, type PendingResponse, type ResponsePart } from "./response-chaining.ts";
import { SW } from "./status-words.ts";

/** Result of one command, returned by an applet. */
export interface AppletResponse {
  /** Response data; empty when absent. Dropped when `sw` is not 90XX. */
  data?: Uint8Array;
  /** Status word; 0x9000 when absent. */
  sw?: number;
  /** Replaces the command's Ne for the 61XX split, e.g. to return a whole signature at once. */
  ne?: number;
}

/** An applet: a card application selected by its AID (application identifier). */
export interface Applet {
  /** AID; SELECT matches when its data starts with these bytes. */
  readonly aid: Uint8Array;
  /** Handles SELECT by AID for this applet, also when it is already selected. May throw CardError. */
  select(command: CommandApdu): AppletResponse | Promise<AppletResponse>;
  /** Called when another applet gets selected. */
  deselect?(): void;
  /** Handles every other command while selected. May throw CardError. */
  process(command: CommandApdu): AppletResponse | Promise<AppletResponse>;
}

/** A response after the runtime's checks: data is empty for every SW other than 90XX. */
export interface CardResponse {
  data: Uint8Array;
  sw: number;
  ne?: number;
}

/**
 * Hook for secure messaging (SM). The runtime calls it for every command whose
 * CLA has bits 0x0C set and b5 clear, after chaining. The handler unwraps the
 * protected command, and calls `execute` with the plain command, which runs
 * SELECT by AID or the selected applet and never throws. The handler then
 * returns the protected response, and the runtime applies the 61XX rule to it. A
 * CardError thrown by the handler is sent as its SW. Without a handler such
 * commands get 6E00, as on the firmware.
 */
export type SecureMessagingHandler = (
  command: CommandApdu,
  execute: (plain: CommandApdu) => Promise<CardResponse>,
) => AppletResponse | Promise<AppletResponse>;

export interface CardRuntimeOptions {
  /** Answer to reset, returned unchanged by `atr`. */
  atr: Uint8Array;
  /** Applets in match order: SELECT picks the first whose AID prefixes the data. */
  applets: Applet[];
  /**
   * Called once per response with the SW sent (61XX included). `command` is
   * undefined for a malformed frame. `detail` is the CardError message, if any.
   * Meant for debug logs: log INS and SW, never the data.
   */
  onCommand?(command: CommandApdu | undefined, sw: number, detail?: string): void;
  /** Called for any error other than CardError thrown by an applet or hook; the command gets 6F00. */
  onError?(error: unknown, command: CommandApdu | undefined): void;
  /** Maximum command frame length, default 65544 (extended case 4 with 65535 data bytes). Longer frames get 6700. */
  maxCommandLength?: number;
  secureMessaging?: SecureMessagingHandler;
}

const INS_GET_RESPONSE = 0xc0;
const INS_SELECT = 0xa4;
const CLA_SECURE_MESSAGING = 0x0c;
const EMPTY = new Uint8Array();

/**
 * A card with applets behind one ATR. `transmit` handles one command frame at a
 * time, in call order, and always resolves to a response frame ending in a SW.
 *
 * Power off and reset keep all state (selected applet, pending response data,
 * open chain), as the SmartCard-HSM firmware does. Clients re-select the applet,
 * which resets the applet's session.
 */
export class CardRuntime {
  readonly atr: Uint8Array;

  readonly #applets: readonly Applet[];
  readonly #options: CardRuntimeOptions;
  readonly #maxCommandLength: number;
  readonly #chain = new CommandChain();
  #selected: Applet | undefined;
  #pending: PendingResponse | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CardRuntimeOptions) {
    for (const applet of options.applets) {
      if (applet.aid.length === 0) throw new RangeError("invalid applet: the AID must not be empty");
    }
    this.atr = Uint8Array.from(options.atr);
    this.#applets = [...options.applets];
    this.#options = options;
    this.#maxCommandLength = options.maxCommandLength ?? MAX_COMMAND_APDU_LENGTH;
  }

  /** The selected applet, or undefined before the first successful SELECT. */
  get selectedApplet(): Applet | undefined {
    return this.#selected;
  }

  /** Power on. State is kept, so this does nothing. */
  powerOn(): void {}

  /** Power off. State is kept, so this does nothing. */
  powerOff(): void {}

  /** Warm reset. State is kept, so this does nothing. */
  reset(): void {}

  /** Processes one command frame after all earlier ones and resolves to the response frame. */
  transmit(command: Uint8Array): Promise<Uint8Array> {
    const response = this.#queue.then(() => this.#process(command));
    this.#queue = response.catch(() => undefined);
    return response;
  }

  async #process(frame: Uint8Array): Promise<Uint8Array> {
    let command: CommandApdu;
    try {
      if (frame.length > this.#maxCommandLength) {
        throw new CardError(SW.WRONG_LENGTH, `command APDU of ${frame.length} bytes exceeds the ${this.#maxCommandLength}-byte limit`);
      }
      command = parseCommandApdu(frame);
    } catch (error) {
      // A malformed frame is not a command, so pending data and an open chain stay.
      return this.#send(undefined, this.#errorResponse(error, undefined), 0).frame;
    }

    const pending = this.#pending;
    this.#pending = undefined;
    if (command.ins === INS_GET_RESPONSE && pending !== undefined) {
      const part = this.#send(command, pending, command.ne);
      this.#pending = part.pending;
      return part.frame;
    }

    const response = await this.#execute(command);
    const part = this.#send(command, response, response.ne ?? command.ne);
    this.#pending = part.pending;
    return part.frame;
  }

  /** Steps 3 to 7: chaining, secure messaging, SELECT by AID, applet dispatch. */
  async #execute(command: CommandApdu): Promise<CardResponse & { detail?: string }> {
    try {
      const complete = this.#chain.accept(command, isSelectByAid(command));
      if (complete === undefined) return { data: EMPTY, sw: SW.OK };

      if ((complete.cla & CLA_SECURE_MESSAGING) === 0) return await this.#dispatch(complete);

      const handler = this.#options.secureMessaging;
      if (handler === undefined) {
        throw new CardError(SW.CLA_NOT_SUPPORTED, `CLA ${toHex(Uint8Array.of(complete.cla))} requests secure messaging, which is not enabled`);
      }
      return normalize(await handler(complete, (plain) => this.#dispatch(plain)));
    } catch (error) {
      return this.#errorResponse(error, command);
    }
  }

  /** Steps 5 to 7 for a plain command. Never throws: errors become status words. */
  async #dispatch(command: CommandApdu): Promise<CardResponse & { detail?: string }> {
    try {
      if (isSelectByAid(command)) return normalize(await this.#selectByAid(command));

      const applet = this.#selected;
      if (applet === undefined) throw new CardError(SW.FILE_NOT_FOUND, "no applet is selected");
      return normalize(await applet.process(command));
    } catch (error) {
      return this.#errorResponse(error, command);
    }
  }

  /**
   * Selects the first applet whose AID is a prefix of the command data. With no
   * match the SW is 6A82 and the selection is unchanged. Otherwise a
   * different previously selected applet is deselected first. If the new applet's
   * select throws, no applet is selected afterwards.
   */
  async #selectByAid(command: CommandApdu): Promise<AppletResponse> {
    const applet = this.#applets.find((candidate) => startsWith(command.data, candidate.aid));
    if (applet === undefined) throw new CardError(SW.FILE_NOT_FOUND, `no applet matches AID ${toHex(command.data)}`);

    const previous = this.#selected;
    this.#selected = undefined;
    if (previous !== undefined && previous !== applet) previous.deselect?.();

    const response = await applet.select(command);
    this.#selected = applet;
    return response;
  }

  #errorResponse(error: unknown, command: CommandApdu | undefined): CardResponse & { detail?: string } {
    if (error instanceof CardError) return { data: EMPTY, sw: error.sw, detail: error.message };

    this.#report(error, command);
    return { data: EMPTY, sw: SW.UNKNOWN, detail: "internal error, reported through onError" };
  }

  /** Step 8: splits the response by Ne and reports the SW sent. The caller stores what stays pending. */
  #send(command: CommandApdu | undefined, response: CardResponse & { detail?: string }, ne: number): ResponsePart {
    const part = splitResponse(response.data, response.sw, ne);

    try {
      this.#options.onCommand?.(command, part.sw, response.detail);
    } catch (error) {
      this.#report(error, command);
    }
    return part;
  }

  #report(error: unknown, command: CommandApdu | undefined): void {
    try {
      this.#options.onError?.(error, command);
    } catch {
      // A failing error reporter must not stop the card from responding.
    }
  }
}

/** Reports whether a command is SELECT by AID as the runtime intercepts it: INS A4, P1 04, P2 00 or 04. */
export function isSelectByAid(command: CommandApdu): boolean {
  return command.ins === INS_SELECT && command.p1 === 0x04 && (command.p2 === 0x00 || command.p2 === 0x04);
}

/** Applies defaults and drops the data of every response whose SW is not 90XX. */
function normalize(response: AppletResponse | undefined): CardResponse {
  const sw = response?.sw ?? SW.OK;
  const data = response?.data ?? EMPTY;
  const ne = response?.ne;

  if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) throw new TypeError(`applet returned an invalid status word: ${sw}`);
  if (!(data instanceof Uint8Array)) throw new TypeError("applet returned response data that is not a Uint8Array");
  if (ne !== undefined && (!Number.isInteger(ne) || ne < 0 || ne > 65536)) throw new TypeError(`applet returned an invalid Ne: ${ne}`);

  const success = sw >> 8 === 0x90;
  return { data: success ? data : EMPTY, sw, ...(ne === undefined ? {} : { ne }) };
}

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  return prefix.every((byte, index) => data[index] === byte);
}
