/**
 * Checks each library's npm and JSR manifests against what a user of the
 * published package relies on, and its imports against its declared
 * dependencies, so that nothing works only because the monorepo hoists it.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { listLibraries, packageNameOf, REPO_ROOT } from "../src/libraries.ts";
import type { Library } from "../src/libraries.ts";
import { leavesSource, listSourceImports } from "../src/source-imports.ts";

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const REPOSITORY_URL = "git+https://github.com/hsmkit/hsmkit.git";
const PUBLISHED_FILES = ["dist", "README.md"];

const libraries = listLibraries();
const versions = new Map(libraries.map((library) => [library.npm.name, library.npm.version]));

describe.each(libraries.map((library) => [library.npm.name, library] as const))("%s manifests", (_name, library) => {
  const { npm, jsr } = library;

  it("names, versions and licenses the package", () => {
    expect(npm.name).toBe(`@hsmkit/${library.id}`);
    expect(npm.version).toMatch(SEMVER);
    expect(npm.license).toBe("Apache-2.0");
    expect(npm.description, "description").toBeTruthy();
    expect(npm.repository).toEqual({ type: "git", url: REPOSITORY_URL, directory: `libs/${library.id}` });
  });

  it("is an ESM package without side effects", () => {
    expect(npm.type).toBe("module");
    expect(npm.sideEffects).toBe(false);
    expect(npm.engines?.node).toBe(">=20");
  });

  it("publishes only the build and the README", () => {
    expect(npm.files).toEqual(PUBLISHED_FILES);
  });

  it("exports types before import for every subpath", () => {
    const entries = Object.entries(npm.exports ?? {});
    expect(entries.length).toBeGreaterThan(0);

    for (const [subpath, conditions] of entries) {
      const keys = Object.keys(conditions).filter((key) => key !== "source");
      expect(keys, `exports["${subpath}"]`).toEqual(["types", "import"]);
      expect(conditions.types, `exports["${subpath}"].types`).toMatch(/^\.\/dist\/.+\.d\.ts$/);
      expect(conditions.import, `exports["${subpath}"].import`).toBe(conditions.types.replace(/\.d\.ts$/, ".js"));
    }
  });

  it("has a JSR manifest that matches package.json", () => {
    expect(jsr.name, `${library.jsrFile} name`).toBe(npm.name);
    expect(jsr.version, `${library.jsrFile} version: run npm run version-packages`).toBe(npm.version);
    expect(jsr.license, `${library.jsrFile} license`).toBe("Apache-2.0");
    expect(normalizeJsrExports(jsr.exports)).toEqual(sourceExports(library));
  });

  it("is a member of the Deno workspace", () => {
    const denoRoot = JSON.parse(readFileSync(join(REPO_ROOT, "deno.json"), "utf8")) as { workspace: string[] };
    expect(denoRoot.workspace).toContain(`./libs/${library.id}`);
  });

  it("declares every package it imports", () => {
    const imports = listSourceImports(library.dir);
    const declared = { ...npm.dependencies, ...npm.peerDependencies };

    const nodeOnly = imports.filter(({ specifier }) => specifier.startsWith("node:"));
    expect(nodeOnly, "libraries run in browsers: no node: imports").toEqual([]);

    const escaping = imports.filter((entry) => entry.specifier.startsWith(".") && leavesSource(library.dir, entry));
    expect(escaping, "relative imports must stay inside src/").toEqual([]);

    const bare = imports.filter(({ specifier }) => !specifier.startsWith(".") && !specifier.startsWith("node:"));
    const undeclared = bare.filter(({ specifier }) => !(packageNameOf(specifier) in declared));
    expect(undeclared, "imported but not in dependencies").toEqual([]);

    const deepInternal = bare.filter(({ specifier }) => specifier.startsWith("@hsmkit/") && specifier !== packageNameOf(specifier) && !isExportedSubpath(specifier));
    expect(deepInternal, "imports of another library's internals").toEqual([]);

    const used = new Set(bare.map(({ specifier }) => packageNameOf(specifier)));
    expect(Object.keys(declared).filter((name) => !used.has(name)), "declared but never imported").toEqual([]);
  });

  it("depends on the current version of sibling libraries", () => {
    for (const [name, range] of Object.entries(npm.dependencies ?? {})) {
      if (!versions.has(name)) continue;
      expect(range, `dependency ${name}`).toBe(versions.get(name));
    }
  });
});

/** Returns the JSR exports as a map from subpath to source file. */
function normalizeJsrExports(exports: Library["jsr"]["exports"]): Record<string, string> {
  if (exports === undefined) return {};
  return typeof exports === "string" ? { ".": exports } : exports;
}

/** Returns the npm exports' `source` conditions, which JSR publishes as they are. */
function sourceExports(library: Library): Record<string, string> {
  return Object.fromEntries(Object.entries(library.npm.exports ?? {}).map(([subpath, conditions]) => [subpath, conditions.source]));
}

function isExportedSubpath(specifier: string): boolean {
  const name = packageNameOf(specifier);
  const sibling = libraries.find((library) => library.npm.name === name);
  const subpath = `.${specifier.slice(name.length)}`;
  return sibling !== undefined && subpath in (sibling.npm.exports ?? {});
}
