import { describeStatusWord } from "./status-words.ts";

/**
 * The error a command handler throws to end a command with a status word. The
 * card runtime sends `sw` with no response data. `message` is for logs only and
 * never reaches the host.
 */
export class CardError extends Error {
  readonly sw: number;

  constructor(sw: number, message?: string) {
    if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) throw new RangeError(`invalid status word ${sw}: must be 0x0000 to 0xFFFF`);
    super(message ?? describeStatusWord(sw));
    this.name = "CardError";
    this.sw = sw;
  }
}
