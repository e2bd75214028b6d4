// Copies each library's package.json version into its JSR manifest (jsr.json,
// else deno.json), because `changeset version` bumps package.json only.
// Prints each file it changed. Usage: node tools/packaging/src/sync-jsr-versions.mjs
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const libsDir = fileURLToPath(new URL("../../../libs", import.meta.url));

for (const id of readdirSync(libsDir).sort()) {
  const dir = join(libsDir, id);
  if (!existsSync(join(dir, "package.json"))) continue;

  const { version, private: isPrivate } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const jsrFile = ["jsr.json", "deno.json"].map((name) => join(dir, name)).find((path) => existsSync(path));
  if (isPrivate || jsrFile === undefined) continue;

  // A textual replacement keeps the file's own formatting.
  const text = readFileSync(jsrFile, "utf8");
  const updated = text.replace(/("version"\s*:\s*)"[^"]*"/, `$1"${version}"`);
  if (!/"version"\s*:/.test(text)) throw new Error(`${jsrFile} has no "version" field: add "version": "${version}"`);
  if (updated !== text) {
    writeFileSync(jsrFile, updated);
    console.log(`${jsrFile}: version ${version}`);
  }
}
