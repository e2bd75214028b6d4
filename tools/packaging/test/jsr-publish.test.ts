/**
 * Simulates `deno publish` of each library from its deno.json: the module
 * graph must resolve (bare imports through package.json dependencies, sibling
 * libraries through the Deno workspace), and the upload must hold the sources,
 * the README and the manifest only.
 */

import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { BIN_DIR, listLibraries } from "../src/libraries.ts";
import { formatOutput, runCommand } from "../src/run-command.ts";

const DENO = join(BIN_DIR, "deno");

// TODO: drop --allow-slow-types once every library gives its exported constants and class
// fields explicit types; JSR then documents and type-checks them faster.
const DRY_RUN = ["publish", "--dry-run", "--allow-dirty", "--no-check", "--allow-slow-types"];

describe.concurrent.each(listLibraries().map((library) => [library.npm.name, library] as const))("%s on JSR", (_name, library) => {
  it("publishes the sources and the README", async () => {
    const result = await runCommand(DENO, DRY_RUN, { cwd: library.dir, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
    expect(result.status, formatOutput(result)).toBe(0);

    const prefix = `file://${library.dir}/`;
    const files = [...(result.stdout + result.stderr).matchAll(/^\s+(file:\/\/\S+)/gm)].map((match) => match[1].replace(prefix, ""));
    expect(files).toContain("README.md");
    expect(files).toContain(library.jsrFile);
    const exported = typeof library.jsr.exports === "string" ? [library.jsr.exports] : Object.values(library.jsr.exports ?? {});
    for (const entry of exported) expect(files, `JSR export ${entry}`).toContain(entry.replace(/^\.\//, ""));
    expect(files.filter((file) => file !== "README.md" && file !== library.jsrFile && !/^src\/.+\.ts$/.test(file)), "unexpected files in the upload").toEqual([]);
  });
});
