/**
 * An ESP32-S3 in download mode behind a Web-Serial-shaped port. It speaks
 * SLIP and implements the ROM loader's SYNC, READ_REG/WRITE_REG and
 * GET_SECURITY_INFO, and the stub upload (MEM_BEGIN/DATA/END, then an "OHAI"
 * packet). After that it follows the stub: 2 status bytes,
 * FLASH_DEFL_BEGIN/DATA/END inflated into a 4 MiB flash array, SPI_FLASH_MD5
 * as 16 raw bytes. The uploaded stub code is not executed.
 */
import { inflateSync } from "node:zlib";
import { md5 } from "@noble/hashes/legacy.js";
import type { SerialPortLike } from "../src/esp32/serial-port.ts";

const SLIP_END = 0xc0;
const SLIP_ESC = 0xdb;

const OP = {
  FLASH_BEGIN: 0x02,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
} as const;

/** ROM error code for a command it does not know. */
const INVALID_MESSAGE = 0x05;

export interface EspRomOptions {
  /** GET_SECURITY_INFO flags; bit 0 is SECURE_BOOT_EN. */
  securityFlags?: number;
  /** GET_SECURITY_INFO chip ID; 9 is the ESP32-S3. */
  chipId?: number;
}

export class SimulatedEsp32s3Port implements SerialPortLike {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  /** Flash contents, erased (0xFF) at the start. */
  readonly flash = new Uint8Array(4 * 1024 * 1024).fill(0xff);
  /** Every setSignals call, to check the reset sequence. */
  readonly signals: { dataTerminalReady?: boolean; requestToSend?: boolean }[] = [];
  /** Commands received, by opcode. */
  readonly commands: number[] = [];
  readonly #options: EspRomOptions;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #incoming: number[] = [];
  #inFrame = false;
  #stub = false;
  #deflate: { offset: number; chunks: Uint8Array[] } | undefined;
  #sink: ((bytes: Uint8Array) => void) | undefined;

  constructor(options: EspRomOptions = {}) {
    this.#options = options;
  }

  getInfo(): { usbVendorId: number; usbProductId: number } {
    return { usbVendorId: 0x303a, usbProductId: 0x1001 };
  }

  async open(): Promise<void> {
    this.readable = new ReadableStream<Uint8Array>({ start: (controller) => void (this.#controller = controller) });
    this.writable = new WritableStream<Uint8Array>({ write: (chunk) => this.#receive(chunk) });
  }

  async close(): Promise<void> {
    try {
      this.#controller?.close();
    } catch {
      // Already closed by a cancelled reader.
    }
    this.readable = null;
    this.writable = null;
  }

  async setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void> {
    this.signals.push(signals);
  }

  /** Talks over a byte stream instead of the port's own streams: bytes from the host go to `feed`, replies to `sink`. */
  connectStream(sink: (bytes: Uint8Array) => void): (bytes: Uint8Array) => void {
    this.#sink = sink;
    return (bytes) => this.#receive(bytes);
  }

  /** Splits the byte stream into SLIP frames and handles each. */
  #receive(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (byte === SLIP_END) {
        if (this.#inFrame && this.#incoming.length > 0) this.#handle(unescape(this.#incoming));
        this.#incoming = [];
        this.#inFrame = true;
      } else if (this.#inFrame) {
        this.#incoming.push(byte);
      }
    }
  }

  #handle(packet: Uint8Array): void {
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const op = packet[1];
    const data = packet.subarray(8, 8 + view.getUint16(2, true));
    const word = (index: number) => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(index * 4, true);
    this.commands.push(op);

    switch (op) {
      case OP.SYNC:
        for (let i = 0; i < (this.#stub ? 1 : 8); i++) this.#respond(op, this.#stub ? 0 : 0x20120707);
        return;
      case OP.READ_REG:
        return this.#respond(op, 0);
      case OP.GET_SECURITY_INFO: {
        const info = new Uint8Array(20);
        const infoView = new DataView(info.buffer);
        infoView.setUint32(0, this.#options.securityFlags ?? 0, true);
        infoView.setUint32(12, this.#options.chipId ?? 9, true);
        return this.#respond(op, 0, info);
      }
      case OP.WRITE_REG:
      case OP.SPI_SET_PARAMS:
      case OP.SPI_ATTACH:
      case OP.CHANGE_BAUDRATE:
      case OP.MEM_BEGIN:
      case OP.MEM_DATA:
        return this.#respond(op, 0);
      case OP.MEM_END:
        this.#respond(op, 0);
        this.#stub = true;
        return this.#send(new TextEncoder().encode("OHAI"));
      case OP.FLASH_DEFL_BEGIN:
        this.#deflate = { offset: word(3), chunks: [] };
        return this.#respond(op, 0);
      case OP.FLASH_DEFL_DATA:
        this.#deflate?.chunks.push(data.slice(16, 16 + word(0)));
        return this.#respond(op, 0);
      case OP.FLASH_DEFL_END:
        this.#finishDeflate();
        return this.#respond(op, 0);
      case OP.SPI_FLASH_MD5:
        return this.#respond(op, 0, md5(this.flash.subarray(word(0), word(0) + word(1))));
      default:
        return this.#respond(op, 0, new Uint8Array(), INVALID_MESSAGE);
    }
  }

  #finishDeflate(): void {
    if (this.#deflate === undefined) return;
    const compressed = new Uint8Array(this.#deflate.chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let position = 0;
    for (const chunk of this.#deflate.chunks) {
      compressed.set(chunk, position);
      position += chunk.length;
    }
    this.flash.set(inflateSync(compressed), this.#deflate.offset);
    this.#deflate = undefined;
  }

  /** Sends a response: 01, op, size, value, data, then status (2 bytes from the stub, 4 from the ROM). */
  #respond(op: number, value: number, data: Uint8Array = new Uint8Array(), error = 0): void {
    const failed = error === 0 ? 0 : 1;
    const status = this.#stub ? [failed, error] : [failed, error, 0, 0];
    const packet = new Uint8Array(8 + data.length + status.length);
    const view = new DataView(packet.buffer);
    packet[0] = 0x01;
    packet[1] = op;
    view.setUint16(2, data.length + status.length, true);
    view.setUint32(4, value, true);
    packet.set(data, 8);
    packet.set(status, 8 + data.length);
    this.#send(packet);
  }

  #send(payload: Uint8Array): void {
    const framed = [SLIP_END];
    for (const byte of payload) {
      if (byte === SLIP_END) framed.push(SLIP_ESC, 0xdc);
      else if (byte === SLIP_ESC) framed.push(SLIP_ESC, 0xdd);
      else framed.push(byte);
    }
    framed.push(SLIP_END);
    const bytes = Uint8Array.from(framed);
    if (this.#sink) this.#sink(bytes);
    else queueMicrotask(() => this.#controller?.enqueue(bytes));
  }
}

function unescape(bytes: number[]): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === SLIP_ESC) {
      out.push(bytes[i + 1] === 0xdc ? SLIP_END : SLIP_ESC);
      i++;
    } else {
      out.push(bytes[i]);
    }
  }
  return Uint8Array.from(out);
}
