// DKEK backup and restore with OpenSC's sc-hsm-tool: two custodian shares (one
// with a plain password, one whose password is split 2-of-3), keys wrapped on
// one device and unwrapped on a second device initialized with the same shares,
// where they sign for the original public keys. A third device with another
// DKEK refuses the blobs. The devices run one after another on the e2e reader.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { parseColonHex, recoverPassword } from "@hsmkit/keystore";

import { pkcs11Tool, READER, scHsmTool, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { run, runOk } from "../src/run.ts";
import type { RunResult } from "../src/run.ts";
import { startDevice } from "../src/vdevice.ts";
import type { RunningDevice } from "../src/vdevice.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..", "..");
const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");
const RSA_KEY = { ref: "1", id: "11", name: "rsa" };
const EC_KEY = { ref: "2", id: "12", name: "ec" };
const PASSWORD = "custodian-one-password";
const MESSAGE = "hsmkit DKEK restore message\n";

interface ThresholdShare {
  prime: string;
  id: string;
  value: string;
}

let device: RunningDevice | undefined;
let work: string;
let thresholdShares: ThresholdShare[] = [];

function file(name: string): string {
  return join(work, name);
}

function expectSuccess(result: RunResult): void {
  const deviceLog = device?.log().slice(-3000) ?? "(device stopped)";
  expect(result.status, `exit status; stdout:\n${result.stdout}\nstderr:\n${result.stderr}\ndevice log:\n${deviceLog}`).toBe(0);
}

/** Runs sc-hsm-tool on the e2e reader with `input` on its standard input (its prompts read lines from there). */
function scHsmToolWithInput(args: readonly string[], input: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sc-hsm-tool", ["--reader", READER, ...args], { cwd: work, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function initialize(shares: number): Promise<void> {
  const result = await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN, "--dkek-shares", String(shares)]);
  expectSuccess(result);
}

function importPasswordShare(): Promise<RunResult> {
  return scHsmTool(["--import-dkek-share", file("plain.pbe"), "--password", PASSWORD]);
}

/** Imports the threshold-protected share with custodians 1 and 3, typed in as sc-hsm-tool prompts for them. */
function importThresholdShare(): Promise<RunResult> {
  const [first, , third] = thresholdShares;
  const input = [first.prime, "", first.id, first.value, "", third.id, third.value, ""].join("\n");
  return scHsmToolWithInput(["--import-dkek-share", file("threshold.pbe"), "--pwd-shares-total", "2"], input);
}

function withLogin(args: string[]): Promise<RunResult> {
  return pkcs11Tool(["--login", "--pin", USER_PIN, ...args], work);
}

function openssl(args: string[]): Promise<RunResult> {
  return run("openssl", args, { cwd: work });
}

async function switchDevice(name: string): Promise<void> {
  await device?.stop();
  device = undefined;
  device = await startDevice(name);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vdevice-dkek-"));
  await writeFile(file("msg.txt"), MESSAGE);
  await writeFile(file("digest.bin"), createHash("sha256").update(MESSAGE).digest());
  device = await startDevice("e2e-dkek-a");
});

afterAll(async () => {
  await device?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("first device: shares and wrap", () => {
  test("--initialize --dkek-shares 2", async () => {
    await initialize(2);

    const info = await scHsmTool([]);
    expectSuccess(info);
    expect(info.stdout).toMatch(/DKEK shares\s*:\s*2/);
    expect(info.stdout).toMatch(/DKEK import pending, 2 share\(s\) still missing/);
  });

  test("--create-dkek-share with a password", async () => {
    const result = await scHsmTool(["--create-dkek-share", file("plain.pbe"), "--password", PASSWORD]);
    expectSuccess(result);

    expect(result.stdout).toContain("DKEK share created and saved to");
    expect((await stat(file("plain.pbe"))).size).toBe(64);
    expect((await readFile(file("plain.pbe"))).subarray(0, 8).toString("latin1")).toBe("Salted__");
  });

  test("--create-dkek-share with a 2-of-3 password split", async () => {
    const result = await scHsmToolWithInput(
      ["--create-dkek-share", file("threshold.pbe"), "--pwd-shares-threshold", "2", "--pwd-shares-total", "3"],
      "\n".repeat(10),
    );
    expectSuccess(result);
    expect(result.stdout).toContain("DKEK share created and saved to");

    const primes = [...result.stdout.matchAll(/Prime\s*:\s*([0-9A-Fa-f:]+)/g)].map((match) => match[1]);
    const ids = [...result.stdout.matchAll(/Share ID\s*:\s*(\d+)/g)].map((match) => match[1]);
    const values = [...result.stdout.matchAll(/Share value\s*:\s*([0-9A-Fa-f:]+)/g)].map((match) => match[1]);
    expect(ids).toEqual(["1", "2", "3"]);
    expect(new Set(primes).size).toBe(1);
    thresholdShares = ids.map((id, i) => ({ prime: primes[i], id, value: values[i] }));
  });

  test("the keystore library recovers the password from any 2 shares", () => {
    const prime = parseColonHex(thresholdShares[0].prime);
    const share = (i: number) => ({ x: BigInt(`0x${thresholdShares[i].id}`), y: parseColonHex(thresholdShares[i].value) });

    const recovered = [[0, 1], [0, 2], [1, 2]].map(([a, b]) => Buffer.from(recoverPassword([share(a), share(b)], prime)).toString("hex"));
    expect(new Set(recovered).size).toBe(1);
    expect(recovered[0]).toMatch(/^[0-9a-f]{16}$/);
  });

  test("--import-dkek-share of both shares", async () => {
    const plain = await importPasswordShare();
    expectSuccess(plain);
    expect(plain.stdout).toContain("DKEK share imported");
    expect(plain.stdout).toMatch(/DKEK import pending, 1 share\(s\) still missing/);

    const threshold = await importThresholdShare();
    expectSuccess(threshold);
    expect(threshold.stdout).toContain("DKEK share imported");
    expect(threshold.stdout).toMatch(/DKEK key check value\s*:\s*[0-9A-F]{16}/);
  });

  test("--import-dkek-share with a wrong password changes nothing", async () => {
    const result = await scHsmTool(["--import-dkek-share", file("plain.pbe"), "--password", "not the password"]);

    expect(result.stdout + result.stderr).toMatch(/Password correct|Error decrypting|failed/i);
    const info = await scHsmTool([]);
    expect(info.stdout).toMatch(/DKEK shares\s*:\s*2/);
    expect(info.stdout).not.toContain("still missing");
  });

  test("pkcs11-tool generates the RSA-2048 and EC P-256 keys", async () => {
    expectSuccess(await withLogin(["--keypairgen", "--key-type", "rsa:2048", "--id", RSA_KEY.id, "--label", "rsa-backup"]));
    expectSuccess(await withLogin(["--keypairgen", "--key-type", "EC:prime256v1", "--id", EC_KEY.id, "--label", "ec-backup"]));

    for (const key of [RSA_KEY, EC_KEY]) {
      expectSuccess(await pkcs11Tool(["--read-object", "--type", "pubkey", "--id", key.id, "-o", `${key.name}.der`], work));
      await runOk("openssl", ["pkey", "-pubin", "-inform", "DER", "-in", `${key.name}.der`, "-out", `${key.name}.pem`], { cwd: work });
    }
  });

  test("--wrap-key writes both keys", async () => {
    for (const key of [RSA_KEY, EC_KEY]) {
      const result = await scHsmTool(["--wrap-key", file(`${key.name}.wky`), "--key-reference", key.ref, "--pin", USER_PIN]);
      expectSuccess(result);
      expect(result.stderr, key.name).toBe("");

      const wrapped = await readFile(file(`${key.name}.wky`));
      expect(wrapped[0], key.name).toBe(0x30);
    }
  });
});

describe("second device: same shares, unwrap", () => {
  beforeAll(async () => {
    await switchDevice("e2e-dkek-b");
  });

  test("takes the same two shares", async () => {
    await initialize(2);
    expectSuccess(await importPasswordShare());
    const threshold = await importThresholdShare();
    expectSuccess(threshold);

    expect(threshold.stdout).toContain("DKEK share imported");
  });

  test("--unwrap-key restores both keys", async () => {
    for (const key of [RSA_KEY, EC_KEY]) {
      const result = await scHsmTool(["--unwrap-key", file(`${key.name}.wky`), "--key-reference", key.ref, "--pin", USER_PIN, "--force"]);
      expectSuccess(result);
      expect(result.stdout, `${key.name}: ${result.stderr}\n${device?.log().slice(-2000)}`).toContain("Key successfully imported");
    }
  });

  test("restored RSA key signs for the original public key", async () => {
    expectSuccess(await withLogin(["--sign", "--mechanism", "SHA256-RSA-PKCS", "--id", RSA_KEY.id, "-i", "msg.txt", "-o", "rsa.sig"]));

    const result = await openssl(["dgst", "-sha256", "-verify", "rsa.pem", "-signature", "rsa.sig", "msg.txt"]);
    expect(result.stdout).toContain("Verified OK");
  });

  test("restored EC key signs for the original public key", async () => {
    expectSuccess(
      await withLogin(["--sign", "--mechanism", "ECDSA", "--id", EC_KEY.id, "--signature-format", "openssl", "-i", "digest.bin", "-o", "ec.sig"]),
    );

    const result = await openssl(["pkeyutl", "-verify", "-pubin", "-inkey", "ec.pem", "-in", "digest.bin", "-sigfile", "ec.sig"]);
    expect(result.stdout + result.stderr).toContain("Signature Verified Successfully");
  });
});

describe("third device: another DKEK", () => {
  beforeAll(async () => {
    await switchDevice("e2e-dkek-c");
  });

  test("refuses the blobs", async () => {
    await initialize(1);
    expectSuccess(await importPasswordShare());

    for (const key of [RSA_KEY, EC_KEY]) {
      const result = await scHsmTool(["--unwrap-key", file(`${key.name}.wky`), "--key-reference", key.ref, "--pin", USER_PIN, "--force"]);

      expect(result.stdout, key.name).not.toContain("Key successfully imported");
      expect(result.stdout + result.stderr, key.name).toMatch(/does not match DKEK|failed/);
    }
    const keys = await withLogin(["--list-objects", "--type", "privkey"]);
    expect(keys.stdout).not.toContain("backup");
  });

  test("a PKCS#12 key wrapped by import-pkcs12 unwraps and signs", { timeout: 300_000 }, async () => {
    await runOk("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "p12.key", "-out", "p12.crt", "-subj", "/CN=hsmkit p12 import", "-days", "2"], { cwd: work });
    await runOk("openssl", ["pkcs12", "-export", "-inkey", "p12.key", "-in", "p12.crt", "-out", "key.p12", "-passout", "pass:p12-secret", "-name", "p12-import"], { cwd: work });
    await runOk("openssl", ["x509", "-in", "p12.crt", "-pubkey", "-noout", "-out", "p12.pub.pem"], { cwd: work });

    const tool = await run(
      DENO,
      ["run", "--allow-read", "--allow-write", join(REPO_ROOT, "apps", "vdevice", "src", "keys", "import-pkcs12.ts"),
        "--p12", file("key.p12"), "--p12-password", "p12-secret", "--dkek-share", file("plain.pbe"), "--share-password", PASSWORD,
        "--out", file("p12.wky"), "--id", "21"],
      { cwd: work, timeoutMs: 280_000 },
    );
    expectSuccess(tool);

    const result = await scHsmTool(["--unwrap-key", file("p12.wky"), "--key-reference", "5", "--pin", USER_PIN]);
    expect(result.stdout, result.stderr).toContain("Key successfully imported");

    const objects = await withLogin(["--list-objects"]);
    expect(objects.stdout).toContain("p12-import");
    expect(objects.stdout).toMatch(/Certificate Object[\s\S]*hsmkit p12 import/);

    expectSuccess(await withLogin(["--sign", "--mechanism", "ECDSA", "--id", "21", "--signature-format", "openssl", "-i", "digest.bin", "-o", "p12.sig"]));
    const verified = await openssl(["pkeyutl", "-verify", "-pubin", "-inkey", "p12.pub.pem", "-in", "digest.bin", "-sigfile", "p12.sig"]);
    expect(verified.stdout + verified.stderr).toContain("Signature Verified Successfully");
  });
});
