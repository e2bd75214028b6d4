/**
 * Runs the first example of each library README, as written, against the
 * packed and installed packages: under Node (ESM), under Deno, and as an
 * esbuild bundle for the browser. Each run must exit with 0 and print the
 * output the README promises in its `// comments`.
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { build, transform } from "esbuild";
import { beforeAll, describe, expect, inject, it } from "vitest";

import { BIN_DIR, listLibraries } from "../src/libraries.ts";
import { extractFirstExample, findBrokenPromise } from "../src/readme-example.ts";
import type { ReadmeExample } from "../src/readme-example.ts";
import { formatOutput, runCommand } from "../src/run-command.ts";

const BROWSER_RUNNER = fileURLToPath(new URL("../src/browser-runner.mjs", import.meta.url));
const DENO = join(BIN_DIR, "deno");

const consumerDir = inject("consumerDir");

// Plain output: Node and Deno colour console.log values when FORCE_COLOR is set, as Nx sets it.
const { FORCE_COLOR: _forceColor, ...inheritedEnv } = process.env;
const PLAIN_ENV = { ...inheritedEnv, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
const examplesDir = join(consumerDir, "examples");

describe.concurrent.each(listLibraries().map((library) => [library.npm.name, library] as const))("%s README example", (_name, library) => {
  const source = join(library.dir, "README.md");
  const script = join(examplesDir, `${library.id}.ts`);
  let example: ReadmeExample;

  beforeAll(async () => {
    example = extractFirstExample(await readFile(source, "utf8"), source);
    await mkdir(examplesDir, { recursive: true });
    await writeFile(script, example.code);
  });

  it("promises some output", () => {
    expect(example.expected.length, `${source}: give a console.log line a // comment with its output`).toBeGreaterThan(0);
  });

  it("runs under Node", async () => {
    const { code } = await transform(example.code, { loader: "ts", format: "esm", target: "es2022" });
    const compiled = join(examplesDir, `${library.id}.mjs`);
    await writeFile(compiled, code);

    await expectPromisedOutput(example, await runCommand(process.execPath, [compiled], { cwd: consumerDir, env: PLAIN_ENV }));
  });

  it("runs under Deno", async () => {
    await expectPromisedOutput(example, await runCommand(DENO, ["run", "--quiet", "--no-prompt", script], { cwd: consumerDir, env: PLAIN_ENV }));
  });

  it("runs bundled for the browser", async () => {
    const bundle = join(examplesDir, `${library.id}.browser.js`);
    await build({
      entryPoints: [script],
      outfile: bundle,
      absWorkingDir: consumerDir,
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      logLevel: "silent",
    });

    await expectPromisedOutput(example, await runCommand(process.execPath, [BROWSER_RUNNER, bundle], { cwd: consumerDir, env: PLAIN_ENV }));
  });
});

async function expectPromisedOutput(example: ReadmeExample, result: Awaited<ReturnType<typeof runCommand>>): Promise<void> {
  expect(result.status, `the example failed\n${formatOutput(result)}`).toBe(0);
  expect(findBrokenPromise(result.stdout, example.expected)).toBeUndefined();
}
