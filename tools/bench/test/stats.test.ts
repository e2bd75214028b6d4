import { describe, expect, it } from "vitest";
import { median, quantile, summarizeDurations, summarizeRate } from "../src/stats.ts";

describe("quantile", () => {
  it("interpolates between the nearest ranks", () => {
    const samples = [4, 1, 3, 2];
    expect(quantile(samples, 0)).toBe(1);
    expect(quantile(samples, 1)).toBe(4);
    expect(quantile(samples, 0.5)).toBe(2.5);
    expect(quantile(samples, 1 / 3)).toBeCloseTo(2, 12);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.99)).toBeCloseTo(10.9, 12);
  });

  it("leaves the input unsorted", () => {
    const samples = [3, 1, 2];
    quantile(samples, 0.5);
    expect(samples).toEqual([3, 1, 2]);
  });

  it("rejects no samples and bad fractions", () => {
    expect(() => quantile([], 0.5)).toThrow(/no samples/);
    expect(() => quantile([1], 1.5)).toThrow(/invalid quantile fraction: 1.5/);
    expect(() => quantile([1], Number.NaN)).toThrow(/invalid quantile fraction/);
  });
});

describe("median", () => {
  it("takes the middle sample of an odd count", () => {
    expect(median([0.9, 0.2, 0.5, 0.3, 0.4])).toBe(0.4);
  });
});

describe("summarizeRate", () => {
  it("divides the count by the elapsed seconds", () => {
    const summary = summarizeRate([1, 2, 3, 4], 2000);
    expect(summary.count).toBe(4);
    expect(summary.seconds).toBe(2);
    expect(summary.perSecond).toBe(2);
    expect(summary.latencyMs.median).toBe(2.5);
    expect(summary.latencyMs.max).toBe(4);
    expect(summary.latencyMs.p99).toBeCloseTo(3.97, 12);
  });

  it("rejects a zero elapsed time", () => {
    expect(() => summarizeRate([1], 0)).toThrow(/invalid elapsed time: 0 ms/);
  });
});

describe("summarizeDurations", () => {
  it("reports seconds in run order with their median", () => {
    const summary = summarizeDurations([700, 300, 500]);
    expect(summary.runsSeconds).toEqual([0.7, 0.3, 0.5]);
    expect(summary.medianSeconds).toBe(0.5);
    expect(summary.minSeconds).toBe(0.3);
    expect(summary.maxSeconds).toBe(0.7);
  });
});
