/**
 * In-memory USB devices behind the WebUSB interface, for testing host code
 * without a board. They are a Pico Keys board in application mode (CCID and
 * WebCCID in front of any card), the rescue applet as a card, and an
 * RP2040/RP2350 in BOOTSEL with a PICOBOOT interface and a flash array.
 */
export { DisconnectedError, SimulatedUsb, SimulatedUsbDevice, bulk, dataView, type SimulatedIdentity, type SimulatedInterfaceSpec } from "./simulated-usb.ts";
export { SimulatedCcidDevice, type SimulatedCard, type SimulatedCcidOptions } from "./simulated-ccid-device.ts";
export { PICO_HSM_ATR, SimulatedRescueCard, type ButtonModel, type FakeOtp, type SimulatedRescueCardOptions } from "./simulated-rescue-card.ts";
export { PICOBOOT_STATUS, SimulatedPicobootDevice, type SimulatedPicobootOptions } from "./simulated-picoboot-device.ts";
