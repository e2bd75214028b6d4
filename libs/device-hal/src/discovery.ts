/**
 * Finds Pico Keys boards among USB devices. In application mode a board is
 * recognised by its manufacturer string and a CCID or WebCCID interface, never
 * by VID:PID alone, because the PHY record and build presets change it. In
 * BOOTSEL it is recognised by the bootrom's VID:PID and a PICOBOOT interface.
 */
import { APPLICATION_USB, chipByBootloaderUsb, formatUsbId, type ChipFacts } from "./boards.ts";
import { findPicobootInterface } from "./picoboot.ts";
import type { UsbBackend, UsbDevice } from "./webusb.ts";

export type BoardMode = "application" | "bootsel";

export interface FoundBoard {
  mode: BoardMode;
  device: UsbDevice;
  /** VID:PID as `VVVV:PPPP`. */
  usbId: string;
  /** USB serial string; in application mode the hex chip ID that identifies the board across VID:PID changes. */
  serial: string | undefined;
  /** Chip, known in BOOTSEL from the bootrom's VID:PID; in application mode only after the rescue SELECT. */
  chip: ChipFacts | undefined;
  product: string | undefined;
}

/** Classifies one device, or returns undefined when it is not a Pico Keys board. */
export function classifyDevice(device: UsbDevice): FoundBoard | undefined {
  const base = {
    device,
    usbId: formatUsbId(device),
    serial: device.serialNumber ?? undefined,
    product: device.productName ?? undefined,
  };

  const bootChip = chipByBootloaderUsb(device.vendorId, device.productId);
  if (bootChip !== undefined && bootChip.id !== "esp32s3" && findPicobootInterface(device) !== undefined) {
    return { ...base, mode: "bootsel", chip: bootChip };
  }

  if (device.manufacturerName === APPLICATION_USB.manufacturer && hasCcidInterface(device)) {
    return { ...base, mode: "application", chip: undefined };
  }
  return undefined;
}

/** Lists every attached Pico Keys board; `serial` narrows the list to one board. */
export async function findBoards(usb: UsbBackend, filter: { serial?: string; mode?: BoardMode } = {}): Promise<FoundBoard[]> {
  const found: FoundBoard[] = [];
  for (const device of await usb.getDevices()) {
    const board = classifyDevice(device);
    if (board === undefined) continue;
    if (filter.serial !== undefined && board.serial?.toUpperCase() !== filter.serial.toUpperCase()) continue;
    if (filter.mode !== undefined && board.mode !== filter.mode) continue;
    found.push(board);
  }
  return found;
}

function hasCcidInterface(device: UsbDevice): boolean {
  const interfaces = device.configuration?.interfaces ?? device.configurations[0]?.interfaces ?? [];
  return interfaces.some(({ alternate }) => alternate.interfaceClass === APPLICATION_USB.ccidInterfaceClass || alternate.interfaceClass === APPLICATION_USB.webCcidInterfaceClass);
}
