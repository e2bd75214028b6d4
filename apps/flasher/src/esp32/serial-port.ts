/**
 * The part of the Web Serial `SerialPort` that esptool-js's Transport uses.
 * Browsers provide it as `navigator.serial`; Deno and Node have no Web
 * Serial, so a host must supply an adapter (tests use a simulated ROM loader).
 */
export interface SerialPortLike {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  getInfo(): { usbVendorId?: number; usbProductId?: number };
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void>;
}
