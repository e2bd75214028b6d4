/**
 * The part of the WebUSB API (WICG draft) that this library uses, typed
 * structurally so that `navigator.usb` in browsers, the `WebUSB` class of the
 * npm `usb` package on Node, and the in-memory simulators all fit.
 *
 * Endpoint numbers passed to transfers carry no direction bit (WebUSB rule).
 */

export type UsbDirection = "in" | "out";
export type UsbEndpointType = "bulk" | "interrupt" | "isochronous";
/** Transfer outcome: "stall" is a halted endpoint, "babble" a device that sent more than requested. */
export type UsbTransferStatus = "ok" | "stall" | "babble";

export interface UsbEndpoint {
  endpointNumber: number;
  direction: UsbDirection;
  type: UsbEndpointType;
  packetSize: number;
}

export interface UsbAlternateInterface {
  alternateSetting: number;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  interfaceName?: string | null;
  endpoints: readonly UsbEndpoint[];
}

export interface UsbInterface {
  interfaceNumber: number;
  alternate: UsbAlternateInterface;
  alternates: readonly UsbAlternateInterface[];
  claimed: boolean;
}

export interface UsbConfiguration {
  configurationValue: number;
  configurationName?: string | null;
  interfaces: readonly UsbInterface[];
}

/** Setup packet of a control transfer, as WebUSB takes it. */
export interface UsbControlTransferParameters {
  requestType: "standard" | "class" | "vendor";
  recipient: "device" | "interface" | "endpoint" | "other";
  request: number;
  value: number;
  index: number;
}

export interface UsbInTransferResult {
  data?: DataView;
  status: UsbTransferStatus;
}

export interface UsbOutTransferResult {
  bytesWritten: number;
  status: UsbTransferStatus;
}

/** A USB device as WebUSB's `USBDevice` exposes it. */
export interface UsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor?: number;
  readonly deviceVersionMinor?: number;
  readonly manufacturerName?: string | null;
  readonly productName?: string | null;
  readonly serialNumber?: string | null;
  readonly configuration?: UsbConfiguration | null;
  readonly configurations: readonly UsbConfiguration[];
  readonly opened: boolean;

  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  transferIn(endpointNumber: number, length: number): Promise<UsbInTransferResult>;
  transferOut(endpointNumber: number, data: BufferSource): Promise<UsbOutTransferResult>;
  controlTransferIn(setup: UsbControlTransferParameters, length: number): Promise<UsbInTransferResult>;
  controlTransferOut(setup: UsbControlTransferParameters, data?: BufferSource): Promise<UsbOutTransferResult>;
  clearHalt(direction: UsbDirection, endpointNumber: number): Promise<void>;
}

/** The device list of `navigator.usb` (or a `WebUSB` instance of npm `usb`). */
export interface UsbBackend {
  getDevices(): Promise<readonly UsbDevice[]>;
}

/** Copies the bytes of a transfer result (empty when the device sent none). */
export function bytesOf(view: DataView | undefined): Uint8Array<ArrayBuffer> {
  if (view === undefined) return new Uint8Array();
  return Uint8Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/** Returns a copy of `bytes` backed by its own ArrayBuffer, the shape every WebUSB implementation accepts. */
export function toBufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(bytes);
}

/** Endpoints of `alternate` with the given direction and type, in descriptor order. */
export function findEndpoint(alternate: UsbAlternateInterface, direction: UsbDirection, type: UsbEndpointType): UsbEndpoint | undefined {
  return alternate.endpoints.find((endpoint) => endpoint.direction === direction && endpoint.type === type);
}
