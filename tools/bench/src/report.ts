/** The bench's results as data, and their rendering as a text table and as a BENCHMARKS.md section. */

import type { DurationSummary, RateSummary } from "./stats.ts";

/** The measured target: the vdevice through pcscd and OpenSC, or the SoftHSMv2 reference. */
export type TargetName = "vdevice" | "softhsm";

export type MetricId = "select" | "ecdsa-p256-sign" | "rsa2048-sign" | "rsa2048-keygen";

/** A metric with the product's goal for it. */
export interface MetricDefinition {
  id: MetricId;
  title: string;
  unit: string;
  /** Whether larger values are better (rates) or smaller ones (times). */
  better: "higher" | "lower";
  goal: number;
}

export const METRICS: readonly MetricDefinition[] = [
  { id: "select", title: "SELECT round trips (PC/SC)", unit: "APDU/s", better: "higher", goal: 3000 },
  { id: "ecdsa-p256-sign", title: "ECDSA P-256 sign (PKCS#11)", unit: "sig/s", better: "higher", goal: 1000 },
  { id: "rsa2048-sign", title: "RSA-2048 sign (PKCS#11)", unit: "sig/s", better: "higher", goal: 500 },
  { id: "rsa2048-keygen", title: "RSA-2048 key generation (PKCS#11)", unit: "s median", better: "lower", goal: 0.5 },
];

/** One measured value: a rate or the median of repeated runs. */
export interface Measurement {
  metric: MetricId;
  target: TargetName;
  value: number;
  rate?: RateSummary;
  durations?: DurationSummary;
}

/** A value the run did not measure, with the reason. */
export interface Skipped {
  metric: MetricId;
  target: TargetName;
  reason: string;
}

export interface MachineInfo {
  cpuModel: string;
  /** Output of `nproc`. */
  cores: number;
  kernel: string;
  /** One-minute load average when the run started; above 0 means other work shared the cores. */
  loadAverage: number;
  versions: Record<string, string>;
  /** Short hash of the measured commit, with `-dirty` when tracked files had changes. */
  commit: string;
}

export interface BenchReport {
  /** ISO 8601 time at which the run started. */
  date: string;
  /** The command line that produced the report. */
  command: string;
  machine: MachineInfo;
  settings: { durationSeconds: number; warmupCount: number; keygenRuns: number; reader: string; device: string };
  measurements: Measurement[];
  skipped: Skipped[];
}

const TARGET_TITLES: Record<TargetName, string> = { vdevice: "vdevice", softhsm: "SoftHSMv2" };

/** Returns the plain-text table printed at the end of a run. */
export function renderTable(report: BenchReport): string {
  const header = ["Metric", "Unit", TARGET_TITLES.vdevice, TARGET_TITLES.softhsm, "vdevice/SoftHSMv2", "Goal", "Goal met"];
  const rows = METRICS.map((metric) => metricCells(report, metric));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();

  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line), ...skippedNotes(report)].join(
    "\n",
  );
}

/** Returns the BENCHMARKS.md section for one run: how it was run, where, and what it measured. */
export function renderMarkdown(report: BenchReport): string {
  const { machine, settings } = report;
  const versions = Object.entries(machine.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");

  const lines = [
    `## ${report.date.slice(0, 10)}, commit ${machine.commit}`,
    "",
    `- Command (repository root): \`${report.command}\``,
    `- Date: ${report.date}`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores (\`nproc\`), Linux ${machine.kernel}, ` +
      `load average ${machine.loadAverage.toFixed(2)} at the start`,
    `- Software: ${versions}`,
    `- Settings: each rate is counted over ${settings.durationSeconds} s after ${settings.warmupCount} ` +
      `untimed calls; key generation is the median of ${settings.keygenRuns} runs; ` +
      `device: ${settings.device}, reader "${settings.reader}"`,
    "",
    "| Metric | Unit | vdevice | SoftHSMv2 | vdevice / SoftHSMv2 | Goal | Goal met |",
    "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ...METRICS.map((metric) => `| ${metricCells(report, metric).join(" | ")} |`),
    "",
    "Ratios divide the vdevice value by the SoftHSMv2 value: above 1 a rate is higher and a time is longer.",
    "",
    "| Metric | Target | Count | Seconds | Median latency (ms) | p99 latency (ms) | Runs (s) |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ...report.measurements.map(detailRow),
    ...skippedNotes(report).map((note) => `\n${note}`),
  ];
  return `${lines.join("\n")}\n`;
}

function metricCells(report: BenchReport, metric: MetricDefinition): string[] {
  const device = findMeasurement(report, metric.id, "vdevice");
  const reference = findMeasurement(report, metric.id, "softhsm");
  const ratio = device && reference ? formatRatio(device.value / reference.value) : "-";

  return [
    metric.title,
    metric.unit,
    device ? formatValue(device.value, metric) : notMeasured(report, metric.id, "vdevice"),
    reference ? formatValue(reference.value, metric) : notMeasured(report, metric.id, "softhsm"),
    ratio,
    `${metric.better === "higher" ? ">=" : "<="} ${formatValue(metric.goal, metric)}`,
    device ? (meetsGoal(device.value, metric) ? "yes" : "NO") : "-",
  ];
}

/** Returns whether `value` reaches the metric's goal. */
export function meetsGoal(value: number, metric: MetricDefinition): boolean {
  return metric.better === "higher" ? value >= metric.goal : value <= metric.goal;
}

function findMeasurement(report: BenchReport, metric: MetricId, target: TargetName): Measurement | undefined {
  return report.measurements.find((measurement) => measurement.metric === metric && measurement.target === target);
}

function notMeasured(report: BenchReport, metric: MetricId, target: TargetName): string {
  const skipped = report.skipped.find((entry) => entry.metric === metric && entry.target === target);
  return skipped ? "not measured" : "n/a";
}

function skippedNotes(report: BenchReport): string[] {
  const reasons = new Map<string, MetricId[]>();
  for (const entry of report.skipped) {
    const key = `${TARGET_TITLES[entry.target]}: ${entry.reason}`;
    reasons.set(key, [...(reasons.get(key) ?? []), entry.metric]);
  }
  return [...reasons].map(([reason, metrics]) => `Not measured (${metrics.join(", ")}) on ${reason}`);
}

function detailRow(measurement: Measurement): string {
  const target = TARGET_TITLES[measurement.target];
  const { rate, durations } = measurement;
  if (rate) {
    return (
      `| ${measurement.metric} | ${target} | ${rate.count} | ${rate.seconds.toFixed(2)} | ` +
      `${rate.latencyMs.median.toFixed(3)} | ${rate.latencyMs.p99.toFixed(3)} | - |`
    );
  }
  const runs = durations ? durations.runsSeconds.map((seconds) => seconds.toFixed(3)).join(", ") : "-";
  return `| ${measurement.metric} | ${target} | ${durations?.runsSeconds.length ?? "-"} | - | - | - | ${runs} |`;
}

/** Formats a rate as an integer and a time in seconds with three decimals. */
export function formatValue(value: number, metric: MetricDefinition): string {
  return metric.better === "higher" ? Math.round(value).toLocaleString("en-US") : value.toFixed(3);
}

export function formatRatio(ratio: number): string {
  return ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2);
}
