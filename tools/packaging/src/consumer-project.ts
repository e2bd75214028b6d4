/**
 * Builds the libraries, packs them with `npm pack`, and installs the tarballs
 * into a new project in a temporary directory, with no workspace around it, the
 * way a user of the published packages installs them.
 */

import { readdirSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";

import { BIN_DIR, REPO_ROOT, tarballName } from "./libraries.ts";
import type { Library } from "./libraries.ts";
import { runCommand, runCommandOk, formatOutput } from "./run-command.ts";

/** Rebuilds each library whose dist/ is missing or older than its sources; returns the ids rebuilt. */
export async function buildStaleLibraries(libraries: readonly Library[]): Promise<string[]> {
  const stale = libraries.filter(isBuildStale);
  await Promise.all(stale.map((library) => runCommandOk(join(BIN_DIR, "tsc"), ["-p", "tsconfig.lib.json"], { cwd: library.dir })));
  return stale.map((library) => library.id);
}

function isBuildStale(library: Library): boolean {
  const built = newestMtime(join(library.dir, "dist"), "oldest");
  if (built === undefined) return true;

  const inputs = [join(library.dir, "src"), join(library.dir, "package.json"), join(library.dir, "tsconfig.lib.json")];
  return inputs.some((input) => (newestMtime(input, "newest") ?? 0) > built);
}

/** Returns the newest (or oldest) modification time of a file or of the files under a directory. */
function newestMtime(path: string, pick: "newest" | "oldest"): number | undefined {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return undefined;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;

  const times = readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs);
  if (times.length === 0) return undefined;
  return pick === "newest" ? Math.max(...times) : Math.min(...times);
}

/** Packs every library into `destination` with one `npm pack`; returns the tarball path per package name. */
export async function packLibraries(libraries: readonly Library[], destination: string): Promise<Map<string, string>> {
  await mkdir(destination, { recursive: true });

  const workspaces = libraries.flatMap((library) => ["--workspace", relative(REPO_ROOT, library.dir)]);
  await runCommandOk("npm", ["pack", "--silent", "--pack-destination", destination, ...workspaces], { cwd: REPO_ROOT });

  return new Map(libraries.map((library) => [library.npm.name, join(destination, tarballName(library.npm))]));
}

/**
 * Creates an ESM project in `dir` and installs the tarballs into it. Third-party
 * dependencies come from npm's cache (`--offline`); only when the cache lacks
 * one does npm ask the registry.
 */
export async function installTarballs(dir: string, tarballs: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "hsmkit-consumer", private: true, type: "module" }, null, 2));

  const install = ["install", "--no-audit", "--no-fund", "--no-package-lock", ...tarballs];
  const offline = await runCommand("npm", [...install, "--offline"], { cwd: dir });
  if (offline.status === 0) return;

  if (!/ENOTCACHED/.test(offline.stderr)) {
    throw new Error(`npm install of the tarballs failed in ${dir}\n${formatOutput(offline)}`);
  }
  await runCommandOk("npm", [...install, "--prefer-offline"], { cwd: dir });
}
