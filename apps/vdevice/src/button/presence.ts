/**
 * Press-to-confirm, the virtual BOOTSEL button. While device option 0100 is
 * set, every private or secret key operation requests confirmation from a
 * PresenceConfirmer and proceeds only when the owner confirms. A denial, or no
 * decision within the timeout, makes the command fail with 6600.
 *
 * Confirmation sources: ConfirmationQueue collects pending requests and lets
 * the owner answer them through the local HTTP control endpoint
 * (http-control.ts) or the terminal prompt (terminal-prompt.ts);
 * AutoConfirmer confirms everything at once for unattended use.
 */
import type { LedStatus } from "./led.ts";

export type ConfirmOutcome = "confirmed" | "denied" | "timeout";

export interface ConfirmRequest {
  /** Command name, e.g. "SIGNATURE". */
  operation: string;
  /** Key id, when the operation uses a stored key. */
  keyId?: number;
}

export interface PresenceConfirmer {
  confirm(request: ConfirmRequest): Promise<ConfirmOutcome>;
}

/** Confirms every request without asking (the --auto-confirm mode). */
export class AutoConfirmer implements PresenceConfirmer {
  confirm(): Promise<ConfirmOutcome> {
    return Promise.resolve("confirmed");
  }
}

/** A request waiting for the owner's decision. */
export interface PendingConfirmation extends ConfirmRequest {
  id: number;
  /** Milliseconds since the Unix epoch when the request was made. */
  since: number;
}

export type QueueListener = (pending: readonly PendingConfirmation[]) => void;

export interface ConfirmationQueueOptions {
  /** How long a request waits, milliseconds. */
  timeoutMs: number;
  led?: LedStatus;
  now?: () => number;
}

/**
 * Requests waiting for a decision, oldest first. The HSM applet runs one command
 * at a time, so at most one request waits in practice.
 */
export class ConfirmationQueue implements PresenceConfirmer {
  readonly #waiting = new Map<number, { entry: PendingConfirmation; settle: (outcome: ConfirmOutcome) => void }>();
  readonly #listeners = new Set<QueueListener>();
  #nextId = 1;

  constructor(private readonly options: ConfirmationQueueOptions) {}

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  confirm(request: ConfirmRequest): Promise<ConfirmOutcome> {
    const id = this.#nextId++;
    const entry: PendingConfirmation = { ...request, id, since: (this.options.now ?? Date.now)() };
    const previousLed = this.options.led?.state;

    return new Promise<ConfirmOutcome>((resolve) => {
      const timer = setTimeout(() => settle("timeout"), this.options.timeoutMs);
      const settle = (outcome: ConfirmOutcome) => {
        if (!this.#waiting.delete(id)) return;
        clearTimeout(timer);
        if (this.#waiting.size === 0 && previousLed !== undefined) this.options.led?.set(previousLed);
        this.#notify();
        resolve(outcome);
      };

      this.#waiting.set(id, { entry, settle });
      this.options.led?.set("press-to-confirm");
      this.#notify();
    });
  }

  /** Requests waiting for a decision, oldest first. */
  pending(): PendingConfirmation[] {
    return [...this.#waiting.values()].map((waiting) => waiting.entry);
  }

  /**
   * Answers request `id`, or the oldest one when `id` is undefined. Returns
   * false when no such request waits.
   */
  answer(confirmed: boolean, id?: number): boolean {
    const target = id === undefined ? this.#waiting.values().next().value : this.#waiting.get(id);
    if (!target) return false;
    target.settle(confirmed ? "confirmed" : "denied");
    return true;
  }

  /** Adds a listener for changes of the pending list; returns the function that removes it. */
  subscribe(listener: QueueListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    const pending = this.pending();
    for (const listener of this.#listeners) listener(pending);
  }
}

/** Describes a request for a human, e.g. `SIGNATURE with key 3`. */
export function describeRequest(request: ConfirmRequest): string {
  return request.keyId === undefined ? request.operation : `${request.operation} with key ${request.keyId}`;
}
