/**
 * ISO/IEC 7816-4 command chaining as the SmartCard-HSM firmware implements it.
 * A command with CLA bit b5 (0x10) set is one part of a chain. Its data is
 * buffered, and the final part (b5 clear, same header) runs with all the data.
 */
import { concatBytes } from "@hsmkit/tlv";
import { CardError } from "./card-error.ts";
import type { CommandApdu } from "./command-apdu.ts";
import { SW } from "./status-words.ts";

/** CLA bit b5: more parts of this chain follow. */
export const CLA_CHAINING = 0x10;

/** Chained data must stay below this many bytes (the firmware's buffer limit). */
export const MAX_CHAINED_DATA = 2038;

interface OpenChain {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  parts: Uint8Array[];
  length: number;
}

/** Buffers the parts of one command chain. */
export class CommandChain {
  #open: OpenChain | undefined;

  /** Whether a chain has been started and not yet completed or discarded. */
  get isOpen(): boolean {
    return this.#open !== undefined;
  }

  discard(): void {
    this.#open = undefined;
  }

  /**
   * Takes the next command. Returns undefined for a buffered chain part (the
   * caller sends 9000), or the command to execute: the combined command for a
   * final part, or `command` itself when no chain is open.
   *
   * Throws CardError, discarding the chain, for 6883 (a part with another
   * header, or a non-chained command while a chain is open) and for 6700
   * (chained data reaching 2038 bytes). SELECT by AID discards an open chain
   * silently and runs on its own.
   */
  accept(command: CommandApdu, isSelectByAid: boolean): CommandApdu | undefined {
    const open = this.#open;

    if ((command.cla & CLA_CHAINING) !== 0) {
      if (open !== undefined && !sameHeader(open, command)) {
        this.discard();
        throw new CardError(SW.LAST_COMMAND_OF_CHAIN_EXPECTED, "chained part has a different header than the chain it continues");
      }
      const chain = open ?? this.#start(command);
      this.#append(chain, command.data);
      return undefined;
    }

    if (open === undefined) return command;

    if (sameHeader(open, command)) {
      this.#append(open, command.data);
      this.discard();
      return { ...command, data: concatBytes(...open.parts) };
    }

    this.discard();
    if (isSelectByAid) return command;
    throw new CardError(SW.LAST_COMMAND_OF_CHAIN_EXPECTED, "a command with a different header arrived while a chain was open");
  }

  #start(command: CommandApdu): OpenChain {
    const chain = { cla: command.cla & ~CLA_CHAINING, ins: command.ins, p1: command.p1, p2: command.p2, parts: [], length: 0 };
    this.#open = chain;
    return chain;
  }

  #append(chain: OpenChain, data: Uint8Array): void {
    chain.parts.push(data);
    chain.length += data.length;
    if (chain.length >= MAX_CHAINED_DATA) {
      this.discard();
      throw new CardError(SW.WRONG_LENGTH, `chained data of ${chain.length} bytes reaches the ${MAX_CHAINED_DATA}-byte limit`);
    }
  }
}

function sameHeader(chain: OpenChain, command: CommandApdu): boolean {
  return (
    chain.cla === (command.cla & ~CLA_CHAINING) && chain.ins === command.ins && chain.p1 === command.p1 && chain.p2 === command.p2
  );
}
