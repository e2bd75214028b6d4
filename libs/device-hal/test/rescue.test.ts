import { describe, expect, it } from "vitest";
import { rejectionOf } from "./helpers.ts";
import { CcidReader, CHIPS, DeviceHalError, encodePhy, findBoards, parsePhy, RescueClient, USB_ITF } from "../src/index.ts";
import { SimulatedCcidDevice, SimulatedPicobootDevice, SimulatedRescueCard, SimulatedUsb, type SimulatedRescueCardOptions } from "../src/simulators/index.ts";

async function openRescue(options: SimulatedRescueCardOptions) {
  const card = new SimulatedRescueCard(options);
  const device = new SimulatedCcidDevice({ card });
  const reader = await CcidReader.open(device);
  const rescue = new RescueClient(reader.transmit);
  return { card, device, rescue };
}

describe("PHY record", () => {
  it("round-trips every field", () => {
    const phy = {
      vidPid: { vendorId: 0x20a0, productId: 0x4230 },
      ledGpio: 25,
      ledBrightness: 15,
      options: 0x000a,
      presenceTimeout: 10,
      usbProduct: "My HSM",
      enabledCurves: 0x7ff,
      enabledUsbInterfaces: 0x03,
      ledDriver: { driver: 0x03, colorOrder: 2 },
    };
    expect(parsePhy(encodePhy(phy))).toEqual(phy);
  });

  it("always writes OPTS", () => {
    expect([...encodePhy({})]).toEqual([0x06, 0x02, 0x00, 0x00]);
  });

  it("skips unknown tags and wrong lengths like the firmware", () => {
    expect(parsePhy(Uint8Array.of(0x77, 0x01, 0xaa, 0x04, 0x02, 0x01, 0x02, 0x05, 0x01, 0x09, 0x00))).toEqual({ ledBrightness: 9 });
  });

  it("rejects a product string that is too long", () => {
    expect(() => encodePhy({ usbProduct: "x".repeat(32) })).toThrow(/1 to 31 printable ASCII/);
  });
});

describe("RescueClient", () => {
  it("reads the board identity", async () => {
    const { rescue } = await openRescue({ chip: "rp2350" });
    const identity = await rescue.select();
    expect(identity.chip?.id).toBe("rp2350");
    expect(identity.product).toBe("HSM");
    expect(identity.version).toEqual({ major: 6, minor: 6 });
    expect(identity.serial).toEqual(Uint8Array.of(0xe6, 0x60, 0x58, 0x38, 0xab, 0x1c, 0x2d, 0x30));
  });

  it("changes one PHY field and keeps the others", async () => {
    const { rescue, card } = await openRescue({ chip: "rp2040", phy: encodePhy({ vidPid: { vendorId: 0x2e8a, productId: 0x10fd }, ledGpio: 25 }) });
    await rescue.select();
    await rescue.updatePhy((phy) => ({ ...phy, vidPid: { vendorId: 0x20a0, productId: 0x4230 } }));
    expect(parsePhy(card.phy)).toEqual({ vidPid: { vendorId: 0x20a0, productId: 0x4230 }, ledGpio: 25, options: 0 });
  });

  it("refuses a PHY that disables both CCID interfaces", async () => {
    const { rescue, card } = await openRescue({ chip: "rp2040" });
    const before = card.phy;
    await rescue.select();
    await expect(rescue.writePhy({ enabledUsbInterfaces: USB_ITF.HID })).rejects.toThrow(/would become unreachable/);
    expect(card.phy).toBe(before);
  });

  it("explains a refused button press", async () => {
    const { rescue } = await openRescue({ chip: "rp2040", button: "ignore" });
    await rescue.select();
    const error = await rejectionOf(rescue.writePhy({ ledGpio: 4 }));
    expect(error.details.sw).toBe(0x6985);
    expect(error.message).toMatch(/press the BOOTSEL\/BOOT button/);
  });

  it("reads flash statistics and secure-boot status", async () => {
    const { rescue } = await openRescue({ chip: "rp2350" });
    await rescue.select();
    expect((await rescue.flashStatistics()).firmwareSize).toBe(0x80000);
    expect(await rescue.secureBootStatus()).toEqual({ enabled: false, locked: false, keyIndex: undefined });
  });

  it("needs confirmation before burning secure boot", async () => {
    const { rescue, card } = await openRescue({ chip: "rp2350" });
    await rescue.select();
    await expect(rescue.enableSecureBoot({ keyIndex: 0, lock: false, confirmIrreversible: false, chip: CHIPS.rp2350 })).rejects.toThrow(/permanent and was not confirmed/);
    await expect(rescue.enableSecureBoot({ keyIndex: 4, lock: false, confirmIrreversible: true, chip: CHIPS.rp2350 })).rejects.toThrow(/use 0 to 3/);
    expect(card.otp.burns).toEqual([]);

    await rescue.enableSecureBoot({ keyIndex: 1, lock: true, confirmIrreversible: true, chip: CHIPS.rp2350 });
    expect(card.otp.burns).toEqual(["boot key 1", "secure boot", "lock"]);
    expect(await rescue.secureBootStatus()).toEqual({ enabled: true, locked: true, keyIndex: 1 });
  });

  it("rejects a conflicting second burn", async () => {
    const { rescue, card } = await openRescue({ chip: "rp2350" });
    await rescue.select();
    await rescue.enableSecureBoot({ keyIndex: 0, lock: false, confirmIrreversible: true, chip: CHIPS.rp2350 });
    await expect(rescue.enableSecureBoot({ keyIndex: 2, lock: false, confirmIrreversible: true, chip: CHIPS.rp2350 })).rejects.toThrow(/SW 6400/);
    expect(card.otp.burns).toEqual(["boot key 0", "secure boot"]);
  });

  it("reboots into BOOTSEL, where discovery finds PICOBOOT", async () => {
    const usb = new SimulatedUsb();
    let application: SimulatedCcidDevice | undefined;
    const card = new SimulatedRescueCard({
      chip: "rp2040",
      onReboot: (toBootloader) => {
        usb.detach(application!);
        if (toBootloader) usb.attach(new SimulatedPicobootDevice({ chip: "rp2040" }));
      },
    });
    application = new SimulatedCcidDevice({ card });
    usb.attach(application);

    const [board] = await findBoards(usb);
    const rescue = new RescueClient((await CcidReader.open(board.device)).transmit);
    await rescue.select();
    await rescue.rebootToBootloader();

    const after = await findBoards(usb);
    expect(after.map((found) => [found.mode, found.chip?.id])).toEqual([["bootsel", "rp2040"]]);
  });
});
