/**
 * The publishable libraries of the monorepo: every directory under libs/ whose
 * package.json is not private, with its npm manifest and its JSR manifest
 * (jsr.json, else deno.json).
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const LIBS_DIR = join(REPO_ROOT, "libs");
export const BIN_DIR = join(REPO_ROOT, "node_modules", ".bin");

/** The fields of package.json that the packaging checks read. */
export interface NpmManifest {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  license?: string;
  type?: string;
  sideEffects?: boolean;
  engines?: Record<string, string>;
  repository?: { type?: string; url?: string; directory?: string } | string;
  exports?: Record<string, Record<string, string>>;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The fields of jsr.json or deno.json that JSR reads. */
export interface JsrManifest {
  name?: string;
  version?: string;
  license?: string;
  exports?: string | Record<string, string>;
  publish?: { include?: string[]; exclude?: string[] };
}

export interface Library {
  /** Directory name under libs/, such as `tlv`. */
  id: string;
  dir: string;
  npm: NpmManifest;
  /** File name of the JSR manifest: `jsr.json` or `deno.json`. */
  jsrFile: string;
  jsr: JsrManifest;
}

/** Lists the libraries in directory-name order. */
export function listLibraries(): Library[] {
  return readdirSync(LIBS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(LIBS_DIR, entry.name, "package.json")))
    .map((entry) => readLibrary(entry.name))
    .filter((library) => library.npm.private !== true)
    .sort((a, b) => a.id.localeCompare(b.id));
}

function readLibrary(id: string): Library {
  const dir = join(LIBS_DIR, id);
  const npm = readJson(join(dir, "package.json")) as NpmManifest;
  const jsrFile = existsSync(join(dir, "jsr.json")) ? "jsr.json" : "deno.json";
  const jsr = existsSync(join(dir, jsrFile)) ? (readJson(join(dir, jsrFile)) as JsrManifest) : {};
  return { id, dir, npm, jsrFile, jsr };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`failed to read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Returns the package name of a bare import specifier: `@noble/curves/nist.js` gives `@noble/curves`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Returns the tarball file name that `npm pack` writes for a package. */
export function tarballName(manifest: NpmManifest): string {
  return `${manifest.name.replace(/^@/, "").replace("/", "-")}-${manifest.version}.tgz`;
}
