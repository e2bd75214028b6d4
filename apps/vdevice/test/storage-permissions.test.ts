/**
 * The data directory's lock under the permissions `npm start` grants (not -A):
 * Deno refuses /proc/<pid> there, which once turned every stale or live lock
 * into a permission error.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";

const appDirectory = new URL("..", import.meta.url).pathname;
const deno = (globalThis as unknown as { Deno: { pid: number; execPath(): string } }).Deno;

/** A pid above Linux's maximum (2^22), so no process has it. */
const DEAD_PID = 5_000_000;

let root: string;
let dataDirectory: string;

/** Returns the `deno run` permission flags of the app's start script. */
async function startFlags(): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(appDirectory, "package.json"), "utf8"));
  return (manifest.scripts.start as string).split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

/** Opens and closes the data directory in a child Deno with the start script's permissions. */
async function openInChild(): Promise<{ status: number | null; output: string }> {
  const script =
    `import { openDirectoryBackend } from ${JSON.stringify(join(appDirectory, "src/storage/directory-backend.ts"))};\n` +
    `const backend = await openDirectoryBackend(${JSON.stringify(dataDirectory)});\n` +
    `console.log("opened");\n` +
    `await backend.close();\n`;
  // The script must sit inside the app so that Deno resolves the workspace's packages.
  const scriptPath = join(appDirectory, `.open-${deno.pid}-${Date.now()}.ts`);
  await writeFile(scriptPath, script);

  try {
    const flags = await startFlags();
    const result = spawnSync(deno.execPath(), ["run", ...flags, scriptPath], { cwd: appDirectory, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    return { status: result.status, output: result.stdout + result.stderr };
  } finally {
    await rm(scriptPath, { force: true });
  }
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vdevice-permissions-"));
  dataDirectory = join(root, "device");
  await mkdir(dataDirectory, { mode: 0o700 });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

test("stale lock is taken over", async () => {
  await writeFile(join(dataDirectory, "lock"), `${DEAD_PID}\n`);

  const result = await openInChild();

  expect(result.output).toContain("opened");
  expect(result.status).toBe(0);
});

test("live lock names the process", async () => {
  await writeFile(join(dataDirectory, "lock"), `${deno.pid}\n`);

  const result = await openInChild();

  expect(result.status).not.toBe(0);
  expect(result.output).toContain(`in use by process ${deno.pid}`);
  expect(result.output).not.toContain("allow-all");
});
