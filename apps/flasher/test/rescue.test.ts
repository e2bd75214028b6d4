import { encodePhy, parsePhy } from "@hsmkit/device-hal";
import { SimulatedCcidDevice, SimulatedPicobootDevice, SimulatedRescueCard, type SimulatedRescueCardOptions } from "@hsmkit/device-hal/simulators";
import { describe, expect, it } from "vitest";
import { FlasherHarness } from "./harness.ts";

function boardWith(options: SimulatedRescueCardOptions): { harness: FlasherHarness; card: SimulatedRescueCard; device: SimulatedCcidDevice } {
  const harness = new FlasherHarness();
  const card = new SimulatedRescueCard(options);
  const device = new SimulatedCcidDevice({ card });
  harness.usb.attach(device);
  return { harness, card, device };
}

describe("flasher info", () => {
  it("lists a board in each mode", async () => {
    const { harness } = boardWith({ chip: "rp2350" });
    harness.usb.attach(new SimulatedPicobootDevice({ chip: "rp2040", serialNumber: "1122334455667788" }));

    const run = await harness.run("info");

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("2E8A:10FD serial E6605838AB1C2D30: Pico HSM 6.6 on RP2350, chip ID E6605838AB1C2D30, secure boot off\n");
    expect(run.stdout).toContain("2E8A:0003 serial 1122334455667788: RP2040 in BOOTSEL mode (PICOBOOT)\n");
  });
});

describe("flasher rescue", () => {
  it("shows identity, PHY and flash use", async () => {
    const { harness } = boardWith({ chip: "rp2040", phy: encodePhy({ vidPid: { vendorId: 0x20a0, productId: 0x4230 }, ledGpio: 25 }) });
    const run = await harness.run("rescue", "info");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/chip: RP2040\nfirmware: Pico HSM 6.6\n/);
    expect(run.stdout).toMatch(/VID:PID: 20A0:4230\n/);
    expect(run.stdout).toMatch(/LED: GPIO 25/);
    expect(run.stdout).toMatch(/secure boot: off\n/);
  });

  it("writes a preset VID:PID and keeps the other fields", async () => {
    const { harness, card } = boardWith({ chip: "rp2040", phy: encodePhy({ ledGpio: 25, presenceTimeout: 15 }) });
    const run = await harness.run("rescue", "phy", "--preset", "NitroHSM");
    expect(run.exitCode).toBe(0);
    expect(parsePhy(card.phy)).toEqual({ vidPid: { vendorId: 0x20a0, productId: 0x4230 }, ledGpio: 25, presenceTimeout: 15, options: 0 });
    expect(run.stdout).toMatch(/take effect after a reboot/);
  });

  it("writes nothing with --dry-run", async () => {
    const { harness, card } = boardWith({ chip: "rp2040" });
    const before = card.phy;
    const run = await harness.run("rescue", "phy", "--led-brightness", "8", "--dry-run");
    expect(run.exitCode).toBe(0);
    expect(card.phy).toBe(before);
    expect(run.stdout).toMatch(/dry run, nothing written/);
  });

  it("rejects bad PHY values with the allowed range", async () => {
    const { harness } = boardWith({ chip: "rp2040" });
    expect((await harness.run("rescue", "phy", "--led-brightness", "16")).stderr).toMatch(/--led-brightness 16 is invalid: use an integer from 0 to 15/);
    expect((await harness.run("rescue", "phy", "--vid-pid", "2E8A10FD")).stderr).toMatch(/--vid-pid 2E8A10FD is invalid/);
    expect((await harness.run("rescue", "phy", "--preset", "Nope")).stderr).toMatch(/unknown preset Nope: use one of NitroHSM/);
    expect((await harness.run("rescue", "phy", "--usb-interfaces", "4")).stderr).toMatch(/the board would become unreachable/);
  });

  it("reports a missed button press", async () => {
    const { harness } = boardWith({ chip: "rp2040", button: "ignore" });
    const run = await harness.run("rescue", "phy", "--led-gpio", "4");
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/WRITE PHY failed with SW 6985: user presence was not confirmed/);
  });

  it("refuses secure boot without --confirm-irreversible", async () => {
    const { harness, card } = boardWith({ chip: "rp2350" });
    const run = await harness.run("rescue", "secure-boot", "--key-index", "0", "--lock");
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/It is permanent.*Add --confirm-irreversible to proceed/);
    expect(card.otp.burns).toEqual([]);
  });

  it("burns secure boot when confirmed", async () => {
    const { harness, card } = boardWith({ chip: "rp2350" });
    const run = await harness.run("rescue", "secure-boot", "--key-index", "0", "--confirm-irreversible");
    expect(run.exitCode).toBe(0);
    expect(card.otp.burns).toEqual(["boot key 0", "secure boot"]);
    expect(run.stdout).toMatch(/secure boot: on\n/);
  });

  it("refuses secure boot on an RP2040", async () => {
    const { harness, card } = boardWith({ chip: "rp2040" });
    const run = await harness.run("rescue", "secure-boot", "--key-index", "0", "--confirm-irreversible");
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/RP2040 has no secure boot/);
    expect(card.otp.burns).toEqual([]);
  });

  it("reboots into BOOTSEL, then flash finds the board", async () => {
    const harness = new FlasherHarness();
    let application: SimulatedCcidDevice | undefined;
    const card = new SimulatedRescueCard({
      chip: "rp2350",
      onReboot: (toBootloader) => {
        harness.usb.detach(application!);
        if (toBootloader) harness.usb.attach(new SimulatedPicobootDevice({ chip: "rp2350" }));
      },
    });
    application = new SimulatedCcidDevice({ card });
    harness.usb.attach(application);

    const run = await harness.run("rescue", "reboot", "--bootsel");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/rebooting into BOOTSEL/);
    expect((await harness.run("info")).stdout).toMatch(/RP2350 in BOOTSEL mode/);
  });

  it("says the board is in BOOTSEL when rescue cannot reach it", async () => {
    const harness = new FlasherHarness();
    harness.usb.attach(new SimulatedPicobootDevice({ chip: "rp2040" }));
    const run = await harness.run("rescue", "info");
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/the board is in BOOTSEL mode, where the rescue interface does not run/);
  });
});

describe("flasher info without rescue", () => {
  it("lists a board whose rescue applet is missing", async () => {
    const harness = new FlasherHarness();
    const card = new SimulatedRescueCard({ chip: "rp2040" });
    const select = card.transmit.bind(card);
    card.transmit = async (frame) => (frame[1] === 0xa4 ? Uint8Array.of(0x6a, 0x82) : select(frame));
    harness.usb.attach(new SimulatedCcidDevice({ card }));

    const run = await harness.run("info");

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/2E8A:10FD serial E6605838AB1C2D30: Pico Key, rescue applet not reachable \(SELECT rescue applet failed with SW 6A82\)/);
  });
});
