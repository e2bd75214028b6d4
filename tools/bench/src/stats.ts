/** Summary statistics of timing samples. Pure functions; all times in milliseconds. */

/**
 * Returns the `fraction` quantile (0 ≤ fraction ≤ 1) of `samples`, interpolating linearly between
 * the two nearest ranks (the method of a spreadsheet's PERCENTILE.INC and numpy's default).
 */
export function quantile(samples: ArrayLike<number>, fraction: number): number {
  if (samples.length === 0) throw new RangeError("quantile of no samples: measure at least one");
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`invalid quantile fraction: ${fraction}`);

  const sorted = Float64Array.from(samples).sort();
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

export function median(samples: ArrayLike<number>): number {
  return quantile(samples, 0.5);
}

/** Throughput of a loop and the latency distribution of its iterations. */
export interface RateSummary {
  /** Timed iterations. */
  count: number;
  /** Wall-clock time of the timed iterations, in seconds. */
  seconds: number;
  /** Iterations per second: `count / seconds`. */
  perSecond: number;
  latencyMs: { median: number; p99: number; max: number };
}

/** Summarizes a timed loop from its per-iteration latencies and its total wall-clock time. */
export function summarizeRate(latenciesMs: ArrayLike<number>, elapsedMs: number): RateSummary {
  if (!(elapsedMs > 0)) throw new RangeError(`invalid elapsed time: ${elapsedMs} ms`);

  return {
    count: latenciesMs.length,
    seconds: elapsedMs / 1000,
    perSecond: latenciesMs.length / (elapsedMs / 1000),
    latencyMs: {
      median: median(latenciesMs),
      p99: quantile(latenciesMs, 0.99),
      max: quantile(latenciesMs, 1),
    },
  };
}

/** Repeated runs of a slow operation, in seconds. */
export interface DurationSummary {
  runsSeconds: number[];
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
}

export function summarizeDurations(durationsMs: number[]): DurationSummary {
  const seconds = durationsMs.map((duration) => duration / 1000);
  return {
    runsSeconds: seconds,
    medianSeconds: median(seconds),
    minSeconds: quantile(seconds, 0),
    maxSeconds: quantile(seconds, 1),
  };
}
