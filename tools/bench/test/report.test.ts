import { describe, expect, it } from "vitest";
import { METRICS, meetsGoal, renderMarkdown, renderTable, type BenchReport } from "../src/report.ts";
import { summarizeDurations, summarizeRate } from "../src/stats.ts";

function sampleReport(): BenchReport {
  return {
    date: "2025-01-02T03:04:05.000Z",
    command: "npm run bench -- --duration 1",
    machine: {
      cpuModel: "Test CPU",
      cores: 2,
      kernel: "6.1.0",
      loadAverage: 0.5,
      versions: { Deno: "2.9.6", OpenSC: "0.23.0" },
      commit: "abc1234",
    },
    settings: { durationSeconds: 1, warmupCount: 20, keygenRuns: 3, reader: "Virtual PCD 00 00", device: "start" },
    measurements: [
      { metric: "select", target: "vdevice", value: 4000, rate: summarizeRate(new Array(4000).fill(0.25), 1000) },
      { metric: "ecdsa-p256-sign", target: "vdevice", value: 800, rate: summarizeRate([1.25], 1.25) },
      { metric: "ecdsa-p256-sign", target: "softhsm", value: 16000, rate: summarizeRate([0.0625], 0.0625) },
      {
        metric: "rsa2048-keygen",
        target: "softhsm",
        value: 0.25,
        durations: summarizeDurations([200, 250, 400]),
      },
    ],
    skipped: [
      { metric: "rsa2048-sign", target: "vdevice", reason: "C_Sign failed" },
      { metric: "rsa2048-keygen", target: "vdevice", reason: "C_Sign failed" },
      { metric: "rsa2048-sign", target: "softhsm", reason: "--no-softhsm" },
    ],
  };
}

describe("meetsGoal", () => {
  it("compares rates from below and times from above", () => {
    const select = METRICS.find((metric) => metric.id === "select")!;
    const keygen = METRICS.find((metric) => metric.id === "rsa2048-keygen")!;
    expect(meetsGoal(3000, select)).toBe(true);
    expect(meetsGoal(2999, select)).toBe(false);
    expect(meetsGoal(0.5, keygen)).toBe(true);
    expect(meetsGoal(0.51, keygen)).toBe(false);
  });
});

describe("renderTable", () => {
  it("shows values, ratios and goals per metric", () => {
    const lines = renderTable(sampleReport()).split("\n");
    const select = lines.find((line) => line.startsWith("SELECT"))!;
    const ecdsa = lines.find((line) => line.startsWith("ECDSA"))!;
    const keygen = lines.find((line) => line.startsWith("RSA-2048 key"))!;

    expect(select).toMatch(/4,000\s+n\/a\s+-\s+>= 3,000\s+yes$/);
    expect(ecdsa).toMatch(/800\s+16,000\s+0\.05\s+>= 1,000\s+NO$/);
    expect(keygen).toMatch(/not measured\s+0\.250\s+-\s+<= 0\.500\s+-$/);
  });

  it("groups the skipped metrics by reason", () => {
    const table = renderTable(sampleReport());
    expect(table).toContain("Not measured (rsa2048-sign, rsa2048-keygen) on vdevice: C_Sign failed");
    expect(table).toContain("Not measured (rsa2048-sign) on SoftHSMv2: --no-softhsm");
  });
});

describe("renderMarkdown", () => {
  it("records command, machine, date and results", () => {
    const markdown = renderMarkdown(sampleReport());
    expect(markdown).toMatch(/^## 2025-01-02, commit abc1234\n/);
    expect(markdown).toContain("- Command (repository root): `npm run bench -- --duration 1`");
    expect(markdown).toContain("- Machine: Test CPU, 2 cores (`nproc`), Linux 6.1.0, load average 0.50 at the start");
    expect(markdown).toContain("- Software: Deno 2.9.6, OpenSC 0.23.0");
    expect(markdown).toContain("| ECDSA P-256 sign (PKCS#11) | sig/s | 800 | 16,000 | 0.05 | >= 1,000 | NO |");
    expect(markdown).toContain("| select | vdevice | 4000 | 1.00 | 0.250 | 0.250 | - |");
    expect(markdown).toContain("| rsa2048-keygen | SoftHSMv2 | 3 | - | - | - | 0.200, 0.250, 0.400 |");
  });
});
