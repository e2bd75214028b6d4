/** A text progress bar on stderr: redrawn in place on a terminal, one line per 10 % otherwise. */

export interface ProgressOutput {
  write(text: string): void;
  /** Whether the output is a terminal that understands a carriage return. */
  isTerminal: boolean;
}

const WIDTH = 30;

export class ProgressBar {
  readonly #output: ProgressOutput;
  readonly #label: string;
  readonly #total: number;
  #lastTenth = -1;
  #finished = false;

  constructor(output: ProgressOutput, label: string, total: number) {
    this.#output = output;
    this.#label = label;
    this.#total = Math.max(total, 1);
  }

  /** Shows `done` of the total, in bytes. */
  update(done: number): void {
    if (this.#finished) return;
    const fraction = Math.min(done / this.#total, 1);
    const line = `${this.#label} [${"#".repeat(Math.round(fraction * WIDTH)).padEnd(WIDTH, "-")}] ${Math.floor(fraction * 100)
      .toString()
      .padStart(3)}% ${formatBytes(done)}/${formatBytes(this.#total)}`;

    if (this.#output.isTerminal) {
      this.#output.write(`\r${line}`);
    } else {
      const tenth = Math.floor(fraction * 10);
      if (tenth !== this.#lastTenth) this.#output.write(`${line}\n`);
      this.#lastTenth = tenth;
    }
    if (fraction === 1) this.finish();
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#output.isTerminal) this.#output.write("\n");
  }
}

/** Formats a byte count in KiB or MiB with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
