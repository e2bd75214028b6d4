import { describe, expect, test } from "vitest";

import { parseCommandLine, UsageError } from "../src/cli.ts";
import type { DeviceSettings } from "../src/cli.ts";

const ENV = { HOME: "/home/alice" };
const DATA = "/home/alice/.local/share/vdevice";

function devicesOf(args: string[]): DeviceSettings[] {
  const result = parseCommandLine(args, ENV);
  if (result.kind !== "run") throw new Error(`expected run settings for ${args.join(" ")}`);
  return result.devices;
}

function usageErrorOf(args: string[]): string {
  try {
    parseCommandLine(args, ENV);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected a usage error for ${args.join(" ")}`);
}

describe("several devices", () => {
  test("one device without --slots or --device", () => {
    const devices = devicesOf(["--name", "solo"]);
    expect(devices).toHaveLength(1);
    expect(devices[0].name).toBe("solo");
  });

  test("--slots gives one device per port", () => {
    const devices = devicesOf(["--slots", "2", "--log-level", "debug"]);

    expect(devices.map((device) => [device.name, device.dataDir, device.vpcd.port, device.logLevel])).toEqual([
      ["default", `${DATA}/default`, 35963, "debug"],
      ["default-1", `${DATA}/default-1`, 35964, "debug"],
    ]);
  });

  test("--slots counts from the --vpcd port", () => {
    const devices = devicesOf(["--slots", "3", "--name", "lab", "--vpcd", "10.0.0.2:4000"]);
    expect(devices.map((device) => `${device.name}@${device.vpcd.host}:${device.vpcd.port}`)).toEqual(["lab@10.0.0.2:4000", "lab-1@10.0.0.2:4001", "lab-2@10.0.0.2:4002"]);
  });

  test("--slots 1 keeps --data-dir", () => {
    expect(devicesOf(["--slots", "1", "--data-dir", "/srv/hsm"])[0].dataDir).toBe("/srv/hsm");
  });

  test("--device reads every key", () => {
    const devices = devicesOf([
      "--device", "name=alice,slot=1,data-dir=/srv/alice,secret-file=/keys/alice.secret,issuer=/srv/issuer",
      "--device=name=bob,slot=0",
      "--issuer", "/srv/fleet",
    ]);

    expect(devices).toEqual([
      { name: "alice", dataDir: "/srv/alice", secretFile: "/keys/alice.secret", issuerDir: "/srv/issuer", vpcd: { host: "127.0.0.1", port: 35964 }, logLevel: "info" },
      { name: "bob", dataDir: `${DATA}/bob`, issuerDir: "/srv/fleet", vpcd: { host: "127.0.0.1", port: 35963 }, logLevel: "info" },
    ]);
  });

  test("settings is the first device", () => {
    const result = parseCommandLine(["--device", "name=b,slot=1", "--device", "name=a,slot=0"], ENV);
    if (result.kind !== "run") throw new Error("expected run");
    expect(result.settings.name).toBe("b");
  });

  test("rejects bad counts and specs", () => {
    expect(usageErrorOf(["--slots", "0"])).toContain('invalid --slots "0"');
    expect(usageErrorOf(["--slots", "two"])).toContain('invalid --slots "two"');
    expect(usageErrorOf(["--device", "name=a"])).toContain("name and slot are required");
    expect(usageErrorOf(["--device", "name=a,slot=x"])).toContain('invalid slot in --device "name=a,slot=x"');
    expect(usageErrorOf(["--device", "name=a,slot=0,colour=red"])).toContain('"colour=red" is not one of');
    expect(usageErrorOf(["--device", "name=a,slot=0,name=b"])).toContain("name given twice");
    expect(usageErrorOf(["--device", "name=../x,slot=0"])).toContain('invalid --name "../x"');
    expect(usageErrorOf(["--vpcd", "127.0.0.1:65535", "--slots", "2"])).toContain("above 65535");
  });

  test("rejects options that name one device", () => {
    expect(usageErrorOf(["--slots", "2", "--data-dir", "/srv/hsm"])).toContain("--data-dir names one device");
    expect(usageErrorOf(["--slots", "2", "--secret-file", "/srv/s"])).toContain("--secret-file names one device");
    expect(usageErrorOf(["--device", "name=a,slot=0", "--name", "b"])).toContain("--name names one device");
    expect(usageErrorOf(["--slots", "2", "--device", "name=a,slot=0"])).toContain("give one of them");
    expect(usageErrorOf(["--slots", "2", "--print-chain"])).toContain("--print-chain prints one device's chain");
  });

  test("rejects shared slots, names and directories", () => {
    expect(usageErrorOf(["--device", "name=a,slot=0", "--device", "name=b,slot=0"])).toContain("share the slot on port 35963");
    expect(usageErrorOf(["--device", "name=a,slot=0", "--device", "name=a,slot=1"])).toContain("two devices are named a");
    expect(usageErrorOf(["--device", "name=a,slot=0,data-dir=/d", "--device", "name=b,slot=1,data-dir=/d"])).toContain("share the data directory /d");
  });
});
