// Command-line options of the virtual button and the LED status line.
import { describe, expect, test } from "vitest";
import { parseCommandLine, UsageError } from "../src/cli.ts";

const ENV = { HOME: "/home/tester" };

function run(args: string[]) {
  const commandLine = parseCommandLine(args, ENV);
  if (commandLine.kind === "help") throw new Error("unexpected help");
  return commandLine;
}

describe("button options", () => {
  test("none leaves the button unset", () => {
    expect(run([]).settings.button).toBeUndefined();
  });

  test("all options parse", () => {
    const { settings } = run(["--confirm-prompt", "--confirm-port", "35990", "--confirm-timeout=20", "--led-status"]);
    expect(settings.button).toEqual({ confirmPrompt: true, confirmPort: 35990, confirmTimeoutSeconds: 20, ledStatus: true });
  });

  test("auto-confirm parses", () => {
    expect(run(["--auto-confirm"]).settings.button).toEqual({ autoConfirm: true });
  });

  test("auto-confirm excludes asking", () => {
    expect(() => run(["--auto-confirm", "--confirm-prompt"])).toThrow(UsageError);
    expect(() => run(["--auto-confirm", "--confirm-port", "0"])).toThrow(/--auto-confirm/);
  });

  test("bad values name the option", () => {
    expect(() => run(["--confirm-port", "70000"])).toThrow(/invalid --confirm-port "70000"/);
    expect(() => run(["--confirm-port", "-1"])).toThrow(/--confirm-port/);
    expect(() => run(["--confirm-timeout", "0"])).toThrow(/invalid --confirm-timeout "0"/);
    expect(() => run(["--confirm-timeout", "601"])).toThrow(/--confirm-timeout/);
    expect(() => run(["--confirm-timeout", "1.5"])).toThrow(/--confirm-timeout/);
  });

  test("several devices get their own ports", () => {
    const { devices } = run(["--slots", "2", "--confirm-port", "35990"]);
    expect(devices.map((device) => device.button?.confirmPort)).toEqual([35990, 35991]);
  });

  test("several devices cannot share the prompt", () => {
    expect(() => run(["--slots", "2", "--confirm-prompt"])).toThrow(/--confirm-prompt serves one device/);
  });
});
