// Adds up the "Tests  N passed | M failed" lines that every vitest run prints
// (one per project and runtime) in a saved test log, and prints one closing line
// "tests: N passed, M failed[, K skipped]" so a CI reader sees the whole count.
// Usage: node tools/scripts/test-summary.mjs LOG_FILE
import { readFileSync } from "node:fs";

const ANSI_ESCAPE = /\x1b\[[0-9;]*m/g;
const TESTS_LINE = /^\S*:?\s*Tests\s+(.*)\(\d+\)\s*$/;

const path = process.argv[2];
if (!path) {
  console.error("usage: node tools/scripts/test-summary.mjs LOG_FILE");
  process.exit(2);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
let runs = 0;

for (const rawLine of readFileSync(path, "utf8").split("\n")) {
  const match = TESTS_LINE.exec(rawLine.replace(ANSI_ESCAPE, "").trim());
  if (!match) continue;

  runs += 1;
  for (const [, count, kind] of match[1].matchAll(/(\d+)\s+(passed|failed|skipped)/g)) {
    totals[kind] += Number(count);
  }
}

const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : "";
console.log(`test runs counted: ${runs}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${skipped}`);
