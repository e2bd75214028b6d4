// The command-line side of attestation and secure messaging: --issuer, the SM
// switches and --print-chain against real data directories.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { printChain } from "../src/attestation/print-chain.ts";
import { parseCommandLine, UsageError, type DeviceSettings } from "../src/cli.ts";
import { createDevice } from "../src/device.ts";
import { silentLogger } from "../src/log.ts";
import { TEST_SCRYPT } from "./hsm-harness.ts";

const ENV = { HOME: "/home/user" };
const directories: string[] = [];

afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function settingsOf(args: string[]): { kind: string; settings: DeviceSettings } {
  const parsed = parseCommandLine(args, ENV);
  if (parsed.kind === "help") throw new Error("unexpected help");
  return parsed;
}

describe("command line", () => {
  it("reads --issuer and the SM switches", () => {
    const { kind, settings } = settingsOf(["--issuer", "/srv/fleet", "--no-secure-messaging", "--chip-authentication-after-verify"]);
    expect(kind).toBe("run");
    expect(settings.issuerDir).toBe("/srv/fleet");
    expect(settings.noSecureMessaging).toBe(true);
    expect(settings.chipAuthenticationAfterVerify).toBe(true);
  });

  it("leaves SM on by default", () => {
    const { settings } = settingsOf([]);
    expect(settings.issuerDir).toBeUndefined();
    expect(settings.noSecureMessaging).toBeUndefined();
    expect(settings.chipAuthenticationAfterVerify).toBeUndefined();
  });

  it("selects print-chain", () => {
    expect(settingsOf(["--print-chain", "--name", "lab"]).kind).toBe("print-chain");
  });

  it("rejects an empty --issuer", () => {
    expect(() => parseCommandLine(["--issuer="], ENV)).toThrow(UsageError);
    expect(() => parseCommandLine(["--issuer"], ENV)).toThrow(/missing value after --issuer/);
  });
});

describe("print-chain", () => {
  async function deviceDirectory(): Promise<string> {
    const base = await mkdtemp(join(tmpdir(), "vdevice-print-chain-"));
    directories.push(base);
    return join(base, "device");
  }

  it("prints and verifies the chain", async () => {
    const dataDir = await deviceDirectory();
    await (await createDevice({ scrypt: TEST_SCRYPT, dataDir })).close();

    let output = "";
    const status = await printChain(settingsOf(["--data-dir", dataDir]).settings, silentLogger, (text) => (output += text));

    expect(status).toBe(0);
    expect(output).toMatch(/\[0\] CV certificate\n {2}CAR +ESPICOHSMDV/);
    expect(output).toMatch(/chain verified: ESPICOHSMTR\d{5} -> ESPICOHSMDV\w{5} -> ESPICOHSMCA\w{5}/);
    expect(output).toMatch(/root ESPICOHSMCA\w{5} \(.*device\.issuer\):\n7F21/);
  });

  it("fails against another issuer", async () => {
    const dataDir = await deviceDirectory();
    await (await createDevice({ scrypt: TEST_SCRYPT, dataDir })).close();

    let output = "";
    const settings = settingsOf(["--data-dir", dataDir, "--issuer", `${dataDir}.other-issuer`]).settings;
    expect(await printChain(settings, silentLogger, (text) => (output += text))).toBe(1);
    expect(output).toMatch(/chain NOT verified against the root/);
  });

  it("refuses a missing data directory", async () => {
    const dataDir = await deviceDirectory();
    expect(await printChain(settingsOf(["--data-dir", dataDir]).settings, silentLogger, () => {})).toBe(1);
  });
});
