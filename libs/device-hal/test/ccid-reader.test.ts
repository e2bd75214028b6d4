import { encodeResponseApdu, transmitApdu } from "@hsmkit/apdu";
import { describe, expect, it } from "vitest";
import { rejectionOf } from "./helpers.ts";
import { CCID_MESSAGE, CcidReader, classifyDevice, DeviceHalError, findBoards, selectCcidInterface } from "../src/index.ts";
import { PICO_HSM_ATR, SimulatedCcidDevice, SimulatedPicobootDevice, SimulatedUsb, type SimulatedCard } from "../src/simulators/index.ts";

/** Returns a card that echoes the command data with 9000 and returns 600 bytes through 61XX for INS CA. */
function echoCard(): SimulatedCard & { powered: boolean } {
  let pending = new Uint8Array();
  const card = {
    atr: PICO_HSM_ATR,
    powered: false,
    powerOn: () => (card.powered = true),
    powerOff: () => (card.powered = false),
    transmit: async (command: Uint8Array) => {
      if (command[1] === 0xcb) return encodeResponseApdu(new Uint8Array(5000).map((_, i) => (i * 7) & 0xff), 0x9000);
      if (command[1] === 0xca) {
        pending = new Uint8Array(600).map((_, i) => i & 0xff);
      }
      if (command[1] === 0xca || command[1] === 0xc0) {
        const part = pending.subarray(0, 256);
        pending = pending.slice(256);
        return encodeResponseApdu(part, pending.length === 0 ? 0x9000 : 0x6100 | Math.min(pending.length, 255));
      }
      return encodeResponseApdu(command.subarray(5, 5 + (command[4] ?? 0)), 0x9000);
    },
  };
  return card;
}

describe("CcidReader", () => {
  it("powers on and returns the ATR", async () => {
    const card = echoCard();
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card }));
    expect(reader.atr).toEqual(PICO_HSM_ATR);
    expect(card.powered).toBe(true);
  });

  it("prefers the WebCCID interface", async () => {
    const device = new SimulatedCcidDevice({ card: echoCard() });
    const reader = await CcidReader.open(device);
    expect(reader.interfaceNumber).toBe(1);
    expect(device.configurations[0].interfaces[1].alternate.interfaceClass).toBe(0xff);
  });

  it("falls back to the CCID interface", async () => {
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: echoCard(), interfaces: 0x01 }));
    expect(reader.interfaceNumber).toBe(0);
  });

  it("sends PowerOff before PowerOn and increments bSeq", async () => {
    const device = new SimulatedCcidDevice({ card: echoCard() });
    const reader = await CcidReader.open(device);
    await reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x01, 0xaa, 0x00));
    expect(device.log.map((message) => message.type)).toEqual([CCID_MESSAGE.PC_TO_RDR_ICC_POWER_OFF, CCID_MESSAGE.PC_TO_RDR_ICC_POWER_ON, CCID_MESSAGE.PC_TO_RDR_XFR_BLOCK]);
    expect(device.log.map((message) => message.seq)).toEqual([0, 1, 2]);
  });

  it("reassembles replies split into 64-byte packets", async () => {
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: echoCard(), maxTransferLength: 64 }));
    const data = new Uint8Array(200).map((_, i) => i);
    const response = await reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 200, ...data, 0x00));
    expect(response.subarray(0, 200)).toEqual(data);
    expect(response.subarray(200)).toEqual(Uint8Array.of(0x90, 0x00));
  });

  it("waits through time extensions", async () => {
    const device = new SimulatedCcidDevice({ card: echoCard(), timeExtensions: () => 3 });
    const reader = await CcidReader.open(device);
    const response = await reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x01, 0x42, 0x00));
    expect(response).toEqual(Uint8Array.of(0x42, 0x90, 0x00));
  });

  it("follows 61XX with GET RESPONSE through transmitApdu", async () => {
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: echoCard() }));
    const response = await transmitApdu(reader.transmit, { cla: 0x00, ins: 0xca, p1: 0x01, p2: 0x00, ne: 256 });
    expect(response.sw).toBe(0x9000);
    expect(response.data).toEqual(new Uint8Array(600).map((_, i) => i & 0xff));
  });

  it("splits responses beyond one DataBlock with 61XX", async () => {
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: echoCard() }));
    const first = await reader.transmit(Uint8Array.of(0x00, 0xcb, 0x00, 0x00, 0x00, 0x00, 0x00));
    expect(first.length).toBe(2038);
    expect([...first.subarray(2036)]).toEqual([0x61, 0x00]);

    const response = await transmitApdu(reader.transmit, { cla: 0x00, ins: 0xcb, p1: 0x00, p2: 0x00, ne: 65536 }, { extended: true });
    expect(response.sw).toBe(0x9000);
    expect(response.data).toEqual(new Uint8Array(5000).map((_, i) => (i * 7) & 0xff));
  });

  it("times out on a malformed APDU, which the board drops", async () => {
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: echoCard() }), { readTimeoutMs: 100 });
    const error = await reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x05, 0x01)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeviceHalError);
    expect((error as DeviceHalError).message).toMatch(/no CCID reply within 100 ms/);
  });

  it("power-cycles after a lost reply and works again", async () => {
    const device = new SimulatedCcidDevice({ card: echoCard() });
    const reader = await CcidReader.open(device, { readTimeoutMs: 100 });
    await expect(reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x05, 0x01))).rejects.toThrow(/no CCID reply/);

    const types = device.log.map((message) => message.type).slice(-2);
    expect(types).toEqual([CCID_MESSAGE.PC_TO_RDR_ICC_POWER_OFF, CCID_MESSAGE.PC_TO_RDR_ICC_POWER_ON]);
    expect(await reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x01, 0x07, 0x00))).toEqual(Uint8Array.of(0x07, 0x90, 0x00));
  });

  it("reports a board that leaves the bus mid-command", async () => {
    const card = echoCard();
    const device = new SimulatedCcidDevice({ card: { ...card, transmit: () => new Promise<Uint8Array>(() => {}) } });
    const reader = await CcidReader.open(device);
    const pending = reader.transmit(Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x00));
    device.disconnect();
    const error = await rejectionOf(pending);
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toMatch(/the board left the USB bus/);
  });

  it("rejects an APDU longer than one CCID message", async () => {
    const reader = await CcidReader.open(new SimulatedCcidDevice({ card: echoCard() }));
    await expect(reader.transmit(new Uint8Array(2039))).rejects.toThrow(/exceeds the 2038 bytes/);
  });

  it("answers 6F00 to an oversize CCID message", async () => {
    const device = new SimulatedCcidDevice({ card: echoCard() });
    await device.open();
    await device.claimInterface(1);
    const header = Uint8Array.of(0x6f, 0x00, 0x10, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00);
    await device.transferOut(3, header);
    const reply = await device.transferIn(3, 64);
    const bytes = new Uint8Array(reply.data!.buffer, reply.data!.byteOffset, reply.data!.byteLength);
    expect([...bytes]).toEqual([0x80, 2, 0, 0, 0, 0, 0x07, 0x01, 0, 0, 0x6f, 0x00]);
  });

  it("names a device without CCID interfaces", () => {
    const device = new SimulatedPicobootDevice({ chip: "rp2040" });
    expect(() => selectCcidInterface(device, "auto")).toThrow(/RP2040 is in BOOTSEL mode/);
  });
});

describe("board discovery", () => {
  it("finds boards by manufacturer whatever the VID:PID", async () => {
    const usb = new SimulatedUsb();
    usb.attach(new SimulatedCcidDevice({ card: echoCard(), vendorId: 0x20a0, productId: 0x4230, serialNumber: "AA01" }));
    usb.attach(new SimulatedPicobootDevice({ chip: "rp2350", serialNumber: "BB02" }));

    const boards = await findBoards(usb);
    expect(boards.map((board) => [board.mode, board.usbId, board.serial, board.chip?.id])).toEqual([
      ["application", "20A0:4230", "AA01", undefined],
      ["bootsel", "2E8A:000F", "BB02", "rp2350"],
    ]);
    expect((await findBoards(usb, { serial: "bb02" })).map((board) => board.mode)).toEqual(["bootsel"]);
  });

  it("ignores devices of other makers", () => {
    const device = new SimulatedCcidDevice({ card: echoCard() });
    Object.defineProperty(device, "manufacturerName", { value: "Someone Else" });
    expect(classifyDevice(device)).toBeUndefined();
  });
});
