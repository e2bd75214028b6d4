import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { describe, expect, test } from "vitest";

import { defaultDataDir, parseCommandLine, parseVpcdAddress, UsageError } from "../src/cli.ts";
import type { DeviceSettings } from "../src/cli.ts";

const ENV = { HOME: "/home/alice" };

function settingsOf(args: string[], env: Record<string, string | undefined> = ENV): DeviceSettings {
  const result = parseCommandLine(args, env);
  if (result.kind !== "run") throw new Error(`expected run settings for ${args.join(" ")}`);
  return result.settings;
}

function usageErrorOf(args: string[], env: Record<string, string | undefined> = ENV): string {
  try {
    parseCommandLine(args, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected a usage error for ${args.join(" ")}`);
}

describe("parseCommandLine", () => {
  test("defaults without options", () => {
    expect(settingsOf([])).toEqual({
      name: "default",
      dataDir: "/home/alice/.local/share/vdevice/default",
      vpcd: { host: "127.0.0.1", port: 35963 },
      logLevel: "info",
    });
  });

  test("reads every option", () => {
    const settings = settingsOf([
      "--name", "lab-2",
      "--data-dir", "/srv/hsm",
      "--secret-file", "/srv/hsm.secret",
      "--vpcd", "localhost:35964",
      "--log-level", "debug",
    ]);

    expect(settings).toEqual({
      name: "lab-2",
      dataDir: "/srv/hsm",
      secretFile: "/srv/hsm.secret",
      vpcd: { host: "localhost", port: 35964 },
      logLevel: "debug",
    });
  });

  test("reinitialize flag sets the policy", () => {
    expect(settingsOf(["--reinitialize-without-so-pin"]).reinitializeWithoutSoPin).toBe(true);
    expect(settingsOf([]).reinitializeWithoutSoPin).toBeUndefined();
  });

  test("accepts option=value", () => {
    const settings = settingsOf(["--name=x", "--log-level=warn", "--vpcd=10.0.0.2:1"]);
    expect(settings.name).toBe("x");
    expect(settings.logLevel).toBe("warn");
    expect(settings.vpcd).toEqual({ host: "10.0.0.2", port: 1 });
  });

  test("name picks the default data dir", () => {
    expect(settingsOf(["--name", "second"]).dataDir).toBe("/home/alice/.local/share/vdevice/second");
  });

  test("help wins over bad options", () => {
    expect(parseCommandLine(["--log-level", "loud", "--help"], ENV)).toEqual({ kind: "help" });
    expect(parseCommandLine(["-h"], ENV)).toEqual({ kind: "help" });
  });

  test("bad values name the value", () => {
    const cases: [string[], RegExp][] = [
      [["--log-level", "verbose"], /invalid --log-level "verbose": give one of error, warn, info, debug/],
      [["--vpcd", "35963"], /invalid --vpcd "35963": give HOST:PORT/],
      [["--vpcd", "host:70000"], /invalid port in --vpcd "host:70000": give a TCP port from 1 to 65535/],
      [["--vpcd", "host:0"], /invalid port in --vpcd "host:0"/],
      [["--name", "../etc"], /invalid --name "..\/etc": use 1 to 64 letters/],
      [["--name", ".."], /invalid --name "\.\."/],
      [["--name", "x".repeat(65)], /invalid --name/],
      [["--data-dir", ""], /invalid --data-dir "": give a directory/],
      [["--data-dir"], /missing value after --data-dir: give a directory/],
      [["--colour"], /unknown option "--colour": see --help/],
      [["start"], /unexpected argument "start": vdevice takes options only/],
      [["--name", "a", "--name", "b"], /--name given twice/],
    ];

    for (const [args, expected] of cases) expect(usageErrorOf(args), args.join(" ")).toMatch(expected);
  });
});

describe("parseVpcdAddress", () => {
  test("accepts bracketed IPv6", () => {
    expect(parseVpcdAddress("[::1]:35963")).toEqual({ host: "::1", port: 35963 });
  });

  test("rejects bare IPv6", () => {
    expect(() => parseVpcdAddress("::1:35963")).toThrow(UsageError);
  });
});

describe("defaultDataDir", () => {
  test("prefers absolute XDG_DATA_HOME", () => {
    expect(defaultDataDir("d", { HOME: "/home/a", XDG_DATA_HOME: "/data/" })).toBe("/data/vdevice/d");
  });

  test("ignores relative XDG_DATA_HOME", () => {
    expect(defaultDataDir("d", { HOME: "/home/a", XDG_DATA_HOME: "data" })).toBe("/home/a/.local/share/vdevice/d");
  });

  test("needs HOME without XDG_DATA_HOME", () => {
    expect(() => defaultDataDir("d", {})).toThrow(/HOME is not set; give --data-dir DIR/);
  });
});

describe("vdevice command", () => {
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

  function runMain(args: string[]) {
    // Inside the Deno test runner process.execPath is the deno binary.
    return spawnSync(process.execPath, ["run", "--allow-env", "--allow-read", main, ...args], {
      encoding: "utf8",
      timeout: 20_000,
    });
  }

  test("--help prints usage", () => {
    const result = runMain(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: vdevice \[options\]/);
    expect(result.stdout).toContain("--vpcd HOST:PORT");
  });

  test("bad value exits with 2", () => {
    const result = runMain(["--log-level", "verbose"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('vdevice: invalid --log-level "verbose"');
    expect(result.stdout).toBe("");
  });
});
