/** The module specifiers that a library's sources import, read from the TypeScript text. */

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export interface SourceImport {
  /** File path relative to the library directory. */
  file: string;
  specifier: string;
}

// Static imports and re-exports (`import … from "x"`, `export … from "x"`, `import "x"`)
// and dynamic imports with a literal specifier.
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/gm,
  /^\s*import\s+["']([^"']+)["']/gm,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
];

/** Lists every import of every `.ts` file under `libraryDir/src`. */
export function listSourceImports(libraryDir: string): SourceImport[] {
  const srcDir = join(libraryDir, "src");
  const files = readdirSync(srcDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));

  return files.flatMap((path) => {
    const text = readFileSync(path, "utf8");
    const file = relative(libraryDir, path);
    return IMPORT_PATTERNS.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => ({ file, specifier: match[1] })));
  });
}

/** Returns true when a relative specifier in `file` resolves outside the library's `src`. */
export function leavesSource(libraryDir: string, { file, specifier }: SourceImport): boolean {
  const target = resolve(libraryDir, file, "..", specifier);
  return relative(join(libraryDir, "src"), target).startsWith("..");
}
