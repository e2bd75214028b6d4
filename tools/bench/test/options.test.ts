import { describe, expect, it } from "vitest";
import { parseOptions } from "../src/options.ts";

describe("parseOptions", () => {
  it("defaults to a started device on vpcd's first reader", () => {
    const options = parseOptions([]);
    expect(options.device).toBe("start");
    expect(options.vpcdPort).toBe(35963);
    expect(options.reader).toBe("Virtual PCD 00 00");
    expect(options.durationSeconds).toBe(5);
    expect(options.keygenRuns).toBe(5);
    expect(options.softhsm).toBe(true);
  });

  it("derives the reader from --vpcd-port", () => {
    expect(parseOptions(["--vpcd-port", "35964"]).reader).toBe("Virtual PCD 00 01");
    expect(parseOptions(["--vpcd-port", "35964", "--reader", "Other"]).reader).toBe("Other");
  });

  it("reads numbers and switches", () => {
    const options = parseOptions(["--duration", "0.5", "--keygen-runs", "9", "--no-softhsm", "--markdown"]);
    expect(options.durationSeconds).toBe(0.5);
    expect(options.keygenRuns).toBe(9);
    expect(options.softhsm).toBe(false);
    expect(options.markdown).toBe(true);
  });

  it("names the bad value", () => {
    expect(() => parseOptions(["--duration", "0"])).toThrow('invalid --duration "0"');
    expect(() => parseOptions(["--keygen-runs", "2.5"])).toThrow('invalid --keygen-runs "2.5"');
    expect(() => parseOptions(["--device", "usb"])).toThrow('invalid --device "usb"');
    expect(() => parseOptions(["--vpcd-port", "35965"])).toThrow('invalid --vpcd-port "35965"');
    expect(() => parseOptions(["--pin", "1234"])).toThrow(/--pin/);
  });
});
