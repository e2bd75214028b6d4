// Runs an ES module bundle after deleting the globals that only Node has, so a
// bundle that uses process, Buffer or global fails as it would in a browser.
// Usage: node browser-runner.mjs BUNDLE.js
import { pathToFileURL } from "node:url";

const bundle = process.argv[2];
for (const name of ["process", "Buffer", "global", "setImmediate", "clearImmediate", "require", "module"]) {
  delete globalThis[name];
}

await import(pathToFileURL(bundle).href);
