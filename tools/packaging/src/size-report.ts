/**
 * Prints the size of each library's entry points as a Markdown table: minified
 * by esbuild for the browser, then gzipped at level 9. "Own code" leaves the
 * dependencies out, because other packages may share them. "With dependencies"
 * is what a bundle containing only that library weighs. Every export is kept
 * (`export *`), so these are upper bounds: an application that imports a few
 * functions gets less after tree shaking.
 *
 * Needs the built libraries (npm run build). Usage, from tools/packaging:
 * npm run size
 */

import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";

import { build, version as esbuildVersion } from "esbuild";

import { listLibraries, REPO_ROOT } from "./libraries.ts";
import type { Library } from "./libraries.ts";

interface SizeRow {
  entry: string;
  ownMinified: number;
  ownGzipped: number;
  fullMinified: number;
  fullGzipped: number;
}

async function measure(library: Library, subpath: string): Promise<SizeRow> {
  const entry = subpath === "." ? library.npm.name : `${library.npm.name}${subpath.slice(1)}`;
  const own = await bundleSize(entry, true);
  const full = await bundleSize(entry, false);
  return { entry, ownMinified: own.minified, ownGzipped: own.gzipped, fullMinified: full.minified, fullGzipped: full.gzipped };
}

async function bundleSize(entry: string, externalDependencies: boolean): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    stdin: { contents: `export * from "${entry}";`, resolveDir: REPO_ROOT, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    // Keeps every package except the entry's own out of the bundle.
    plugins: externalDependencies ? [externalExcept(entry)] : [],
  });

  const code = result.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

function externalExcept(entry: string) {
  const own = entry.split("/").slice(0, 2).join("/");
  return {
    name: "external-dependencies",
    setup(builder: { onResolve: (options: { filter: RegExp }, callback: (args: { path: string }) => { external: boolean } | undefined) => void }) {
      builder.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith(own) ? undefined : { external: true }));
    },
  };
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

async function main(): Promise<void> {
  const rows: SizeRow[] = [];
  for (const library of listLibraries()) {
    for (const subpath of Object.keys(library.npm.exports ?? {})) rows.push(await measure(library, subpath));
  }

  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  const lines = [
    `- Command (tools/packaging, after \`npm run build\` at the root): \`npm run size\``,
    `- Commit ${commit}, ${new Date().toISOString().slice(0, 10)}; esbuild ${esbuildVersion} (\`--bundle --minify --format=esm --platform=browser\`), gzip level 9`,
    "",
    "| Entry point | Own code, minified (KiB) | Own code, min + gzip (KiB) | With dependencies, minified (KiB) | With dependencies, min + gzip (KiB) |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows.map((row) => `| \`${row.entry}\` | ${kib(row.ownMinified)} | ${kib(row.ownGzipped)} | ${kib(row.fullMinified)} | ${kib(row.fullGzipped)} |`),
  ];
  console.log(lines.join("\n"));
}

await main();
