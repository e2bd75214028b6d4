/**
 * PHY record of the Pico Keys firmware (stored as EF E020): a flat sequence of
 * tag(1) len(1) value items, multi-byte values big endian. A write replaces the
 * whole record, so changing one field means read, modify, write all of it.
 */
import { DeviceHalError } from "./errors.ts";

export const PHY_TAG = {
  VIDPID: 0x00,
  LED_GPIO: 0x04,
  LED_BRIGHTNESS: 0x05,
  OPTS: 0x06,
  UP_BTN: 0x08,
  USB_PRODUCT: 0x09,
  ENABLED_CURVES: 0x0a,
  ENABLED_USB_ITF: 0x0b,
  LED_DRIVER: 0x0c,
} as const;

/** Bits of ENABLED_USB_ITF; an absent tag enables every interface. */
export const USB_ITF = { CCID: 0x01, WCID: 0x02, HID: 0x04, KEYBOARD: 0x08, NETWORK: 0x10 } as const;
/** Bits of OPTS. */
export const PHY_OPT = { WCID: 0x0001, DIMM: 0x0002, DISABLE_POWER_RESET: 0x0004, LED_STEADY: 0x0008 } as const;

export const LED_DRIVERS = { pico: 0x01, pimoroni: 0x02, ws2812: 0x03, cyw43: 0x04, neopixel: 0x05, none: 0xff } as const;

/** Largest record the firmware stores, bytes. */
export const PHY_MAX_SIZE = 66;

export interface PhyData {
  vidPid?: { vendorId: number; productId: number };
  ledGpio?: number;
  /** Maximum LED brightness, 0..15. */
  ledBrightness?: number;
  /** OPTS bits; the firmware always stores this field, 0 when no option is set. */
  options?: number;
  /** User-presence timeout, seconds; 0 or absent grants presence at once. */
  presenceTimeout?: number;
  /** USB product string, at most 31 ASCII characters. */
  usbProduct?: string;
  enabledCurves?: number;
  /** ENABLED_USB_ITF bits; undefined enables every interface. */
  enabledUsbInterfaces?: number;
  ledDriver?: { driver: number; colorOrder?: number };
}

/**
 * Parses a PHY record as the firmware does: unknown tags are skipped, a value
 * of the wrong length is ignored, parsing stops at a truncated item.
 */
export function parsePhy(bytes: Uint8Array): PhyData {
  const phy: PhyData = {};
  let offset = 0;

  while (offset + 2 <= bytes.length) {
    const tag = bytes[offset];
    const length = bytes[offset + 1];
    const value = bytes.subarray(offset + 2, offset + 2 + length);
    if (value.length < length) break;
    offset += 2 + length;
    applyItem(phy, tag, value);
  }
  return phy;
}

function applyItem(phy: PhyData, tag: number, value: Uint8Array): void {
  const u16 = (at: number) => (value[at] << 8) | value[at + 1];
  const u32 = () => ((value[0] << 24) | (value[1] << 16) | (value[2] << 8) | value[3]) >>> 0;

  switch (tag) {
    case PHY_TAG.VIDPID:
      if (value.length === 4) phy.vidPid = { vendorId: u16(0), productId: u16(2) };
      break;
    case PHY_TAG.LED_GPIO:
      if (value.length === 1) phy.ledGpio = value[0];
      break;
    case PHY_TAG.LED_BRIGHTNESS:
      if (value.length === 1) phy.ledBrightness = value[0];
      break;
    case PHY_TAG.OPTS:
      if (value.length === 2) phy.options = u16(0);
      break;
    case PHY_TAG.UP_BTN:
      if (value.length === 1) phy.presenceTimeout = value[0];
      break;
    case PHY_TAG.USB_PRODUCT:
      if (value.length >= 1 && value.length <= 32) phy.usbProduct = new TextDecoder().decode(value).replace(/\0.*$/s, "");
      break;
    case PHY_TAG.ENABLED_CURVES:
      if (value.length === 4) phy.enabledCurves = u32();
      break;
    case PHY_TAG.ENABLED_USB_ITF:
      if (value.length === 1) phy.enabledUsbInterfaces = value[0];
      break;
    case PHY_TAG.LED_DRIVER:
      if (value.length === 1 || value.length === 2) phy.ledDriver = { driver: value[0], colorOrder: value.length === 2 ? value[1] : undefined };
      break;
  }
}

/** Serialises a PHY record in tag order; OPTS is always written, as the firmware does. Throws on out-of-range values. */
export function encodePhy(phy: PhyData): Uint8Array {
  const items: number[] = [];
  const put = (tag: number, value: number[]) => items.push(tag, value.length, ...value);

  if (phy.vidPid) {
    checkRange("VID", phy.vidPid.vendorId, 0xffff);
    checkRange("PID", phy.vidPid.productId, 0xffff);
    put(PHY_TAG.VIDPID, [phy.vidPid.vendorId >> 8, phy.vidPid.vendorId & 0xff, phy.vidPid.productId >> 8, phy.vidPid.productId & 0xff]);
  }
  if (phy.ledGpio !== undefined) put(PHY_TAG.LED_GPIO, [checkRange("LED GPIO", phy.ledGpio, 0xff)]);
  if (phy.ledBrightness !== undefined) put(PHY_TAG.LED_BRIGHTNESS, [checkRange("LED brightness", phy.ledBrightness, 15)]);
  const options = checkRange("options", phy.options ?? 0, 0xffff);
  put(PHY_TAG.OPTS, [options >> 8, options & 0xff]);
  if (phy.presenceTimeout !== undefined) put(PHY_TAG.UP_BTN, [checkRange("presence timeout", phy.presenceTimeout, 0xff)]);
  if (phy.usbProduct !== undefined) put(PHY_TAG.USB_PRODUCT, productBytes(phy.usbProduct));
  if (phy.enabledCurves !== undefined) {
    const curves = checkRange("enabled curves", phy.enabledCurves, 0xffffffff);
    put(PHY_TAG.ENABLED_CURVES, [curves >>> 24, (curves >> 16) & 0xff, (curves >> 8) & 0xff, curves & 0xff]);
  }
  if (phy.enabledUsbInterfaces !== undefined) put(PHY_TAG.ENABLED_USB_ITF, [checkRange("USB interfaces", phy.enabledUsbInterfaces, 0x1f)]);
  if (phy.ledDriver) {
    const value = [checkRange("LED driver", phy.ledDriver.driver, 0xff)];
    if (phy.ledDriver.colorOrder !== undefined) value.push(checkRange("LED colour order", phy.ledDriver.colorOrder, 5));
    put(PHY_TAG.LED_DRIVER, value);
  }

  if (items.length > PHY_MAX_SIZE) throw new DeviceHalError("INVALID_ARGUMENT", `PHY record of ${items.length} bytes exceeds the ${PHY_MAX_SIZE} bytes the firmware stores; shorten the product string`);
  return Uint8Array.from(items);
}

function productBytes(product: string): number[] {
  if (!/^[\x20-\x7e]{1,31}$/.test(product)) {
    throw new DeviceHalError("INVALID_ARGUMENT", `USB product string ${JSON.stringify(product)} is invalid: use 1 to 31 printable ASCII characters`);
  }
  return [...new TextEncoder().encode(product), 0];
}

function checkRange(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new DeviceHalError("INVALID_ARGUMENT", `${name} ${value} is out of range: use 0 to ${max}`);
  return value;
}

/** Returns whether a record leaves at least one CCID interface enabled, without which the rescue applet is unreachable. */
export function keepsCcidReachable(phy: PhyData): boolean {
  if (phy.enabledUsbInterfaces === undefined) return true;
  return (phy.enabledUsbInterfaces & (USB_ITF.CCID | USB_ITF.WCID)) !== 0;
}
