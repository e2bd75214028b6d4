/**
 * Runs once before the test files: builds stale libraries, packs them all, and
 * installs the tarballs into one temporary consumer project that the files share.
 * The teardown removes the temporary directory.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { TestProject } from "vitest/node";

import { buildStaleLibraries, installTarballs, packLibraries } from "./consumer-project.ts";
import { listLibraries } from "./libraries.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Temporary project with every library installed from its tarball. */
    consumerDir: string;
    /** Tarball path per package name. */
    tarballs: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(join(tmpdir(), "hsmkit-packaging-"));
  const removeWorkDir = () => rm(workDir, { recursive: true, force: true });

  try {
    const libraries = listLibraries();
    const rebuilt = await buildStaleLibraries(libraries);
    if (rebuilt.length > 0) console.log(`packaging: rebuilt ${rebuilt.join(", ")}`);

    const tarballs = await packLibraries(libraries, join(workDir, "tarballs"));
    const consumerDir = join(workDir, "consumer");
    await installTarballs(consumerDir, [...tarballs.values()]);

    project.provide("consumerDir", consumerDir);
    project.provide("tarballs", Object.fromEntries(tarballs));
  } catch (error) {
    await removeWorkDir();
    throw error;
  }

  return removeWorkDir;
}
