// The virtual button through the real vdevice process: --confirm-port starts the
// token-protected endpoint on 127.0.0.1 and --auto-confirm is logged at start.
// No vpcd is needed: the device keeps retrying its vpcd connection meanwhile.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterEach, expect, test } from "vitest";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
/** A local port where no vpcd listens (the TCP port service multiplexer, unused on test machines). */
const NO_VPCD = "127.0.0.1:1";

let child: ChildProcess | undefined;
let workDir: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  child = undefined;
  if (workDir) await rm(workDir, { recursive: true, force: true });
  workDir = undefined;
});

/** Starts vdevice with `args` and resolves with its log once `marker` appears in it. */
async function startVdevice(args: string[], marker: RegExp): Promise<{ log: () => string }> {
  workDir = await mkdtemp(join(tmpdir(), "policy-main-"));
  let log = "";
  child = spawn(process.execPath, ["run", "-A", MAIN, "--data-dir", join(workDir, "data"), "--vpcd", NO_VPCD, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));

  const deadline = Date.now() + 30_000;
  while (!marker.test(log)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`vdevice did not log ${marker}:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { log: () => log };
}

test("control endpoint needs the token file", async () => {
  const { log } = await startVdevice(["--confirm-port", "0"], /control endpoint ready/);
  const port = Number(/port=(\d+)/.exec(log().split("control endpoint ready")[1])![1]);
  const tokenFile = join(workDir!, "data.button-token");

  const token = (await readFile(tokenFile, "utf8")).trim();
  expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
  expect(log()).not.toContain(token);

  const denied = await fetch(`http://127.0.0.1:${port}/status`);
  expect(denied.status).toBe(401);
  await denied.body?.cancel();

  const status = await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: `Bearer ${token}` } });
  expect(status.status).toBe(200);
  expect(await status.json()).toEqual({ led: "idle", pending: [] });
});

test("auto-confirm is logged at start", async () => {
  const { log } = await startVdevice(["--auto-confirm"], /--auto-confirm confirms every key operation/);
  expect(log()).toMatch(/WARN .*press-to-confirm/);
});
