import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { generateApdus, parseScriptorResponses, toHex, toScriptorScript } from "../src/fuzz.ts";
import { openscTool, pkcs11Tool, READER, scHsmTool, SELECT_HSM, SO_PIN, USER_PIN } from "../src/opensc.ts";
import { run } from "../src/run.ts";
import { startDevice } from "../src/vdevice.ts";
import type { RunningDevice } from "../src/vdevice.ts";

const SEED = 0x5c_4d_20_24;
const FUZZ_COUNT = 10_000;

/** Every this many fuzz APDUs, the script selects the applet and logs in, so handlers behind the PIN get input too. */
const LOGIN_INTERVAL = 250;
const LOGIN = [SELECT_HSM, "00 20 00 81 06 36 34 38 32 31 39"];

/** SW 6F00, which the device sends when a command handler throws instead of returning a status word. */
const SW_INTERNAL_ERROR = "6F 00";

describe("random and mutated APDUs through pcscd", () => {
  let device: RunningDevice;
  let workDir: string;
  let script: string[];
  let responses: Uint8Array[];
  let scriptorStatus: number;
  let scriptorOutput: string;

  beforeAll(async () => {
    device = await startDevice("e2e-fuzz");
    workDir = await mkdtemp(join(tmpdir(), "vdevice-fuzz-"));

    // An initialized card with an EC key lets more commands get past their first check.
    const initialized = await scHsmTool(["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN]);
    if (initialized.status !== 0) console.warn(`fuzz set-up: sc-hsm-tool --initialize failed:\n${initialized.stderr}`);

    const generated = await pkcs11Tool(["-l", "--pin", USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "01"]);
    if (generated.status !== 0) console.warn(`fuzz set-up: EC key generation failed:\n${generated.stderr}`);

    const fuzz = generateApdus(SEED, FUZZ_COUNT).map(toHex);
    script = [];
    fuzz.forEach((apdu, index) => {
      if (index % LOGIN_INTERVAL === 0) script.push(...LOGIN);
      script.push(apdu);
    });
    script.push(SELECT_HSM);

    const scriptFile = join(workDir, "apdus.txt");
    await writeFile(scriptFile, script.join("\n") + "\n");

    const started = Date.now();
    const result = await run("scriptor", ["-r", READER, scriptFile], { timeoutMs: 150_000 });
    console.log(`fuzz: ${script.length} APDUs through scriptor in ${Date.now() - started} ms`);

    scriptorStatus = result.status;
    scriptorOutput = result.stdout + result.stderr;
    responses = parseScriptorResponses(result.stdout);
  });

  afterAll(async () => {
    await device?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test("scriptor sends the whole script", () => {
    expect(scriptorStatus, scriptorOutput.slice(-2000)).toBe(0);
  });

  test("every APDU gets a status word", () => {
    const missing = script.length - responses.length;
    expect(missing, `first unanswered APDU: ${script[responses.length]}\n${scriptorOutput.slice(-2000)}`).toBe(0);

    const short = responses.findIndex((response) => response.length < 2);
    expect(short, `APDU without a status word: ${script[short]}`).toBe(-1);
  });

  test("no APDU hits an internal error", () => {
    const failing = script.filter((_, index) => responses[index] && toHex(responses[index].slice(-2)) === SW_INTERNAL_ERROR);
    expect(failing.slice(0, 20), `${failing.length} APDUs answered 6F00; device log has the errors`).toEqual([]);
  });

  test("final SELECT returns the FCP", () => {
    const last = responses.at(-1) ?? new Uint8Array(0);
    expect(toHex(last.slice(-2))).toBe("90 00");
    expect(last[0]).toBe(0x62);
  });

  test("OpenSC still recognizes the card", async () => {
    const result = await openscTool(["-an"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("SmartCard-HSM");
  });
});
