/**
 * Terminal prompt for the virtual button: prints each pending request on the
 * device's terminal and reads the owner's answer from standard input, one line
 * per answer ("y" or "yes" confirms, anything else denies).
 */
import type { Logger } from "../log.ts";
import { describeRequest, type ConfirmationQueue, type PendingConfirmation } from "./presence.ts";

export interface TerminalPromptOptions {
  queue: ConfirmationQueue;
  logger: Logger;
  /** Lines typed by the owner; defaults to standard input. */
  input?: ReadableStream<Uint8Array>;
  /** Output for the question; defaults to standard error. */
  write?: (text: string) => void;
}

/** The standard streams of Deno, typed here so that tsc needs no Deno types. */
interface DenoStdio {
  stdin: { readable: ReadableStream<Uint8Array> };
  stderr: { writeSync(bytes: Uint8Array): number };
}

/** Starts reading the owner's decisions from the terminal and returns the function that stops it. */
export function startTerminalPrompt(options: TerminalPromptOptions): () => void {
  const deno = (globalThis as { Deno?: DenoStdio }).Deno;
  const input = options.input ?? deno?.stdin.readable;
  if (!input) throw new Error("the terminal prompt needs standard input; run the device on Deno");
  const write = options.write ?? ((text: string) => void deno?.stderr.writeSync(new TextEncoder().encode(text)));
  let promptedId: number | undefined;

  const unsubscribe = options.queue.subscribe((pending: readonly PendingConfirmation[]) => {
    const oldest = pending[0];
    if (oldest === undefined || oldest.id === promptedId) return;
    promptedId = oldest.id;
    const seconds = Math.round(options.queue.timeoutMs / 1000);
    write(`\nConfirm ${describeRequest(oldest)}? Type y and Enter within ${seconds} s (anything else denies): `);
  });

  const reader = input.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader();
  let stopped = false;
  void (async () => {
    let buffered = "";
    while (!stopped) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim().toLowerCase();
        buffered = buffered.slice(newline + 1);
        const confirmed = line === "y" || line === "yes";
        if (options.queue.answer(confirmed)) options.logger.info(confirmed ? "key use confirmed at the terminal" : "key use denied at the terminal");
      }
    }
  })().catch((error) => options.logger.warn("terminal prompt stopped reading", { error: String(error) }));

  return () => {
    stopped = true;
    unsubscribe();
    void reader.cancel().catch(() => {});
  };
}
