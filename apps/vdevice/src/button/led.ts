/**
 * LED status of the virtual device, for a UI to show: the states the Pico HSM's
 * LED signals, published as events and as a one-line text status.
 *
 *   idle              no card session (powered off or no reader connected)
 *   active            powered, waiting for a command
 *   processing        a command is running
 *   press-to-confirm  a key operation waits for the owner's confirmation
 */

export type LedState = "idle" | "active" | "processing" | "press-to-confirm";

export interface LedEvent {
  state: LedState;
  /** Milliseconds since the Unix epoch. */
  time: number;
}

export type LedListener = (event: LedEvent) => void;

export class LedStatus {
  #state: LedState = "idle";
  readonly #listeners = new Set<LedListener>();

  constructor(private readonly now: () => number = Date.now) {}

  get state(): LedState {
    return this.#state;
  }

  /** Changes the state and notifies every listener. Setting the current state again is not an event. */
  set(state: LedState): void {
    if (state === this.#state) return;
    this.#state = state;
    const event = { state, time: this.now() };
    for (const listener of this.#listeners) listener(event);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Formats an event as the status line a terminal UI prints, e.g.
 * `led processing 2026-12-04T21:00:00.000Z`, or `led lab-2 processing …` with a
 * device name, so the lines of several devices in one process stay apart.
 */
export function formatLedLine(event: LedEvent, deviceName?: string): string {
  const device = deviceName === undefined ? "" : `${deviceName} `;
  return `led ${device}${event.state} ${new Date(event.time).toISOString()}`;
}
