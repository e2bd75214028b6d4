/** Timing loops. Each one runs synchronously, so nothing else in the process runs between calls. */

import { summarizeDurations, summarizeRate, type DurationSummary, type RateSummary } from "./stats.ts";

/** How long a throughput loop runs. */
export interface RateLoop {
  /** Untimed calls before the clock starts (connection setup, caches, JIT). */
  warmupCount: number;
  /** The loop stops at the first call that ends after this many milliseconds. */
  durationMs: number;
}

/** Calls `operation` in a loop for `loop.durationMs` after the warm-up and returns its rate. */
export function measureRate(operation: () => void, loop: RateLoop): RateSummary {
  for (let i = 0; i < loop.warmupCount; i++) operation();

  const latencies: number[] = [];
  const start = performance.now();
  let end = start;
  while (end - start < loop.durationMs) {
    const before = end;
    operation();
    end = performance.now();
    latencies.push(end - before);
  }
  return summarizeRate(latencies, end - start);
}

/**
 * Calls `operation` `runs` times and returns the time of each call. `afterEach` runs untimed
 * after every call with the call's result (to delete a generated key, for instance).
 */
export function measureRuns<T>(operation: () => T, runs: number, afterEach: (result: T) => void): DurationSummary {
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`invalid run count: ${runs}`);

  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = operation();
    durations.push(performance.now() - start);
    afterEach(result);
  }
  return summarizeDurations(durations);
}
