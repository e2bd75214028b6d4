/**
 * Base of the in-memory USB devices: a WebUSB-shaped `UsbDevice` whose
 * transfers go to protocol code in the subclass, plus a `UsbBackend` that
 * lists attached devices. Hosts use them exactly like `navigator.usb`.
 */
import type {
  UsbAlternateInterface,
  UsbBackend,
  UsbConfiguration,
  UsbControlTransferParameters,
  UsbDevice,
  UsbDirection,
  UsbEndpoint,
  UsbInTransferResult,
  UsbInterface,
  UsbOutTransferResult,
} from "../webusb.ts";

export interface SimulatedIdentity {
  vendorId: number;
  productId: number;
  manufacturerName: string;
  productName: string;
  serialNumber: string;
  /** bcdDevice, e.g. 0x0900 for SDK 9.0. */
  deviceVersion?: number;
}

export interface SimulatedInterfaceSpec {
  interfaceNumber: number;
  interfaceClass: number;
  interfaceSubclass?: number;
  interfaceProtocol?: number;
  interfaceName?: string;
  endpoints: UsbEndpoint[];
}

/** Error thrown by every call on a device that left the bus, like WebUSB's NetworkError. */
export class DisconnectedError extends Error {
  override readonly name = "NetworkError";
  constructor() {
    super("the USB device was disconnected");
  }
}

export abstract class SimulatedUsbDevice implements UsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly manufacturerName: string;
  readonly productName: string;
  readonly serialNumber: string;
  readonly configurations: UsbConfiguration[];
  configuration: UsbConfiguration | null;
  opened = false;
  /** False once `disconnect` ran (reboot or unplug). */
  connected = true;
  readonly #claimed = new Set<number>();
  readonly #disconnectListeners: (() => void)[] = [];

  constructor(identity: SimulatedIdentity, interfaces: SimulatedInterfaceSpec[]) {
    this.vendorId = identity.vendorId;
    this.productId = identity.productId;
    this.deviceVersionMajor = (identity.deviceVersion ?? 0x0100) >> 8;
    this.deviceVersionMinor = (identity.deviceVersion ?? 0x0100) & 0xff;
    this.manufacturerName = identity.manufacturerName;
    this.productName = identity.productName;
    this.serialNumber = identity.serialNumber;

    const claimed = this.#claimed;
    const usbInterfaces: UsbInterface[] = interfaces.map((spec) => {
      const alternate: UsbAlternateInterface = {
        alternateSetting: 0,
        interfaceClass: spec.interfaceClass,
        interfaceSubclass: spec.interfaceSubclass ?? 0,
        interfaceProtocol: spec.interfaceProtocol ?? 0,
        interfaceName: spec.interfaceName ?? null,
        endpoints: spec.endpoints,
      };
      return {
        interfaceNumber: spec.interfaceNumber,
        alternate,
        alternates: [alternate],
        get claimed() {
          return claimed.has(spec.interfaceNumber);
        },
      };
    });
    this.configurations = [{ configurationValue: 1, configurationName: null, interfaces: usbInterfaces }];
    this.configuration = this.configurations[0];
  }

  /** Simulates the device leaving the bus: every later call, and every pending read, fails. */
  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.opened = false;
    for (const listener of this.#disconnectListeners.splice(0)) listener();
  }

  /** Registers `listener` to run once at disconnect; subclasses use it to fail pending reads. */
  protected onDisconnect(listener: () => void): void {
    this.#disconnectListeners.push(listener);
  }

  async open(): Promise<void> {
    this.#checkConnected();
    this.opened = true;
  }

  async close(): Promise<void> {
    this.#claimed.clear();
    this.opened = false;
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#checkOpen();
    if (configurationValue !== 1) throw new Error(`configuration ${configurationValue} does not exist`);
    this.configuration = this.configurations[0];
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#checkOpen();
    if (!this.configurations[0].interfaces.some((iface) => iface.interfaceNumber === interfaceNumber)) {
      throw new Error(`interface ${interfaceNumber} does not exist`);
    }
    this.#claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#checkOpen();
    this.#claimed.delete(interfaceNumber);
  }

  async transferOut(endpointNumber: number, data: BufferSource): Promise<UsbOutTransferResult> {
    this.#checkEndpoint(endpointNumber, "out");
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() : new Uint8Array(data).slice();
    return this.handleOut(endpointNumber, bytes);
  }

  async transferIn(endpointNumber: number, length: number): Promise<UsbInTransferResult> {
    this.#checkEndpoint(endpointNumber, "in");
    const result = await this.handleIn(endpointNumber, length);
    if (result.status === "ok" && result.data !== undefined && result.data.byteLength > length) return { status: "babble" };
    return result;
  }

  async controlTransferIn(setup: UsbControlTransferParameters, length: number): Promise<UsbInTransferResult> {
    this.#checkOpen();
    return this.handleControlIn(setup, length);
  }

  async controlTransferOut(setup: UsbControlTransferParameters, data?: BufferSource): Promise<UsbOutTransferResult> {
    this.#checkOpen();
    const bytes = data === undefined ? new Uint8Array() : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    return this.handleControlOut(setup, bytes);
  }

  async clearHalt(direction: UsbDirection, endpointNumber: number): Promise<void> {
    this.#checkOpen();
    this.handleClearHalt(direction, endpointNumber);
  }

  protected abstract handleOut(endpointNumber: number, data: Uint8Array): Promise<UsbOutTransferResult>;
  protected abstract handleIn(endpointNumber: number, length: number): Promise<UsbInTransferResult>;

  protected async handleControlIn(_setup: UsbControlTransferParameters, _length: number): Promise<UsbInTransferResult> {
    return { status: "stall" };
  }

  protected async handleControlOut(_setup: UsbControlTransferParameters, _data: Uint8Array): Promise<UsbOutTransferResult> {
    return { status: "stall", bytesWritten: 0 };
  }

  protected handleClearHalt(_direction: UsbDirection, _endpointNumber: number): void {}

  #checkConnected(): void {
    if (!this.connected) throw new DisconnectedError();
  }

  #checkOpen(): void {
    this.#checkConnected();
    if (!this.opened) throw new Error("InvalidStateError: the device must be opened first");
  }

  #checkEndpoint(endpointNumber: number, direction: UsbDirection): void {
    this.#checkOpen();
    const iface = this.configurations[0].interfaces.find((candidate) =>
      candidate.alternate.endpoints.some((endpoint) => endpoint.endpointNumber === endpointNumber && endpoint.direction === direction),
    );
    if (iface === undefined) throw new Error(`NotFoundError: no ${direction} endpoint ${endpointNumber}`);
    if (!iface.claimed) throw new Error(`InvalidStateError: interface ${iface.interfaceNumber} is not claimed`);
  }
}

/** Returns a view of `bytes` as a transfer result's DataView. */
export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A list of attached simulated devices, shaped like `navigator.usb`. */
export class SimulatedUsb implements UsbBackend {
  readonly devices: SimulatedUsbDevice[] = [];

  attach(device: SimulatedUsbDevice): void {
    this.devices.push(device);
  }

  /** Disconnects `device` and removes it from the list. */
  detach(device: SimulatedUsbDevice): void {
    device.disconnect();
    const index = this.devices.indexOf(device);
    if (index >= 0) this.devices.splice(index, 1);
  }

  async getDevices(): Promise<readonly UsbDevice[]> {
    return this.devices.filter((device) => device.connected);
  }
}

/** Returns a bulk endpoint description with `packetSize` 64 (full speed). */
export function bulk(endpointNumber: number, direction: UsbDirection): UsbEndpoint {
  return { endpointNumber, direction, type: "bulk", packetSize: 64 };
}
