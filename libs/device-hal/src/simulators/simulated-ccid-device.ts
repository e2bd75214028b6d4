/**
 * A Pico Keys board in application mode: the CCID interface (class 0x0B, bulk
 * OUT 1, bulk IN 1, interrupt IN 2) and the WebCCID interface (class 0xFF,
 * bulk 3), both feeding one card. It reproduces the firmware's CCID layer:
 * slot inactive until IccPowerOn, bSeq echo, reassembly across packets, 6F00
 * for an oversize message, silence for a malformed APDU or an unsupported
 * message, and time extensions (bStatus 0x80) before slow responses. Response
 * data beyond 2036 bytes is split with 61XX, and the first interrupt read
 * returns NotifySlotChange `50 03`.
 */
import { parseCommandApdu } from "@hsmkit/apdu";
import { APPLICATION_USB } from "../boards.ts";
import { CCID_HEADER_LENGTH, CCID_MAX_MESSAGE_LENGTH, CCID_MESSAGE, ccidMessageLength, decodeCcidMessage, encodeCcidMessage, type CcidMessage } from "../ccid-message.ts";
import type { UsbInTransferResult, UsbOutTransferResult } from "../webusb.ts";
import { bulk, dataView, DisconnectedError, SimulatedUsbDevice, type SimulatedInterfaceSpec } from "./simulated-usb.ts";

/** The card behind the reader; the virtual device's in-process API has this shape. */
export interface SimulatedCard {
  readonly atr: Uint8Array;
  transmit(command: Uint8Array): Promise<Uint8Array>;
  powerOn?(): void;
  powerOff?(): void;
}

export interface SimulatedCcidOptions {
  card: SimulatedCard;
  vendorId?: number;
  productId?: number;
  productName?: string;
  /** Hex chip ID; default "E6605838AB1C2D30". */
  serialNumber?: string;
  /** ENABLED_USB_ITF bits: 0x01 CCID, 0x02 WebCCID; default both. */
  interfaces?: number;
  /** Number of time-extension DataBlocks sent before the response to `command` (one per 1.5 s of processing). */
  timeExtensions?: (command: Uint8Array) => number;
  /** Largest number of bytes one bulk-IN transfer returns; default 64 (one packet), so hosts must reassemble. */
  maxTransferLength?: number;
}

const CCID_ENDPOINT = { bulk: 1, interrupt: 2 } as const;
const WEBCCID_ENDPOINT = 3;
const SLOT_ACTIVE = 0x00;
const SLOT_INACTIVE = 0x01;
const STATUS_TIME_EXTENSION = 0x80;
/** Response data bytes that fit in one DataBlock with the SW: 2048 − 10 − 2. */
const MAX_RESPONSE_DATA = 2036;
const INS_GET_RESPONSE = 0xc0;
/** Parameters the firmware returns for every parameter request (T=1). */
const T1_PARAMETERS = Uint8Array.of(0x11, 0x10, 0xfe, 0x55, 0x03, 0xfe, 0x00);

interface Pipe {
  received: Uint8Array;
  outgoing: Uint8Array;
  waiters: { length: number; resolve: (result: UsbInTransferResult) => void; reject: (error: Error) => void }[];
}

export class SimulatedCcidDevice extends SimulatedUsbDevice {
  readonly #card: SimulatedCard;
  readonly #timeExtensions: (command: Uint8Array) => number;
  readonly #maxTransferLength: number;
  readonly #pipes = new Map<number, Pipe>();
  #slot = SLOT_INACTIVE;
  #notified = false;
  /** Response data (with the card's SW at the end) not yet fetched by GET RESPONSE. */
  #remainder = new Uint8Array();
  /** One APDU engine for both interfaces: messages are processed strictly in order. */
  #engine: Promise<void> = Promise.resolve();
  /** Messages received, for tests that check what a host sent. */
  readonly log: CcidMessage[] = [];

  constructor(options: SimulatedCcidOptions) {
    const mask = options.interfaces ?? 0x03;
    const interfaces: SimulatedInterfaceSpec[] = [];
    const product = options.productName ?? APPLICATION_USB.defaultProduct;
    if (mask & 0x01) {
      interfaces.push({
        interfaceNumber: interfaces.length,
        interfaceClass: APPLICATION_USB.ccidInterfaceClass,
        interfaceName: `${product} CCID Interface`,
        endpoints: [bulk(CCID_ENDPOINT.bulk, "out"), bulk(CCID_ENDPOINT.bulk, "in"), { endpointNumber: CCID_ENDPOINT.interrupt, direction: "in", type: "interrupt", packetSize: 64 }],
      });
    }
    if (mask & 0x02) {
      interfaces.push({
        interfaceNumber: interfaces.length,
        interfaceClass: APPLICATION_USB.webCcidInterfaceClass,
        interfaceName: `${product} WebCCID Interface`,
        endpoints: [bulk(WEBCCID_ENDPOINT, "out"), bulk(WEBCCID_ENDPOINT, "in")],
      });
    }

    super(
      {
        vendorId: options.vendorId ?? APPLICATION_USB.defaultId.vendorId,
        productId: options.productId ?? APPLICATION_USB.defaultId.productId,
        manufacturerName: APPLICATION_USB.manufacturer,
        productName: product,
        serialNumber: options.serialNumber ?? "E6605838AB1C2D30",
        deviceVersion: 0x0900,
      },
      interfaces,
    );
    this.#card = options.card;
    this.#timeExtensions = options.timeExtensions ?? (() => 0);
    this.#maxTransferLength = options.maxTransferLength ?? 64;
    for (const endpoint of [CCID_ENDPOINT.bulk, WEBCCID_ENDPOINT]) this.#pipes.set(endpoint, { received: new Uint8Array(), outgoing: new Uint8Array(), waiters: [] });

    this.onDisconnect(() => {
      for (const pipe of this.#pipes.values()) for (const waiter of pipe.waiters.splice(0)) waiter.reject(new DisconnectedError());
    });
  }

  protected async handleOut(endpointNumber: number, data: Uint8Array): Promise<UsbOutTransferResult> {
    const pipe = this.#pipes.get(endpointNumber)!;
    pipe.received = concat(pipe.received, data);
    this.#drainReceived(endpointNumber, pipe);
    return { status: "ok", bytesWritten: data.length };
  }

  protected handleIn(endpointNumber: number, length: number): Promise<UsbInTransferResult> {
    if (endpointNumber === CCID_ENDPOINT.interrupt) {
      if (this.#notified) return new Promise(() => {});
      this.#notified = true;
      return Promise.resolve({ status: "ok", data: dataView(Uint8Array.of(CCID_MESSAGE.RDR_TO_PC_NOTIFY_SLOT_CHANGE, 0x03)) });
    }

    const pipe = this.#pipes.get(endpointNumber)!;
    return new Promise((resolve, reject) => {
      pipe.waiters.push({ length, resolve, reject });
      this.#deliver(pipe);
    });
  }

  /** Takes every complete message out of the receive buffer and queues it for the engine. */
  #drainReceived(endpointNumber: number, pipe: Pipe): void {
    for (;;) {
      const length = ccidMessageLength(pipe.received);
      if (length === undefined) return;

      if (length - CCID_HEADER_LENGTH > CCID_MAX_MESSAGE_LENGTH - CCID_HEADER_LENGTH) {
        const seq = pipe.received[6];
        pipe.received = new Uint8Array();
        this.#reply(pipe, { type: CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK, slot: 0, seq, param: [this.#slot, 0, 0], data: Uint8Array.of(0x6f, 0x00) });
        return;
      }
      if (pipe.received.length < length) return;

      const message = decodeCcidMessage(pipe.received);
      pipe.received = pipe.received.slice(length);
      this.log.push(message);
      this.#engine = this.#engine.then(() => this.#process(endpointNumber, pipe, message));
    }
  }

  async #process(_endpointNumber: number, pipe: Pipe, message: CcidMessage): Promise<void> {
    const reply = (type: number, status: number, data: Uint8Array = new Uint8Array(), chain = 0) =>
      this.#reply(pipe, { type, slot: 0, seq: message.seq, param: [status, 0, chain], data });

    switch (message.type) {
      case CCID_MESSAGE.PC_TO_RDR_ICC_POWER_ON:
        this.#card.powerOn?.();
        this.#slot = SLOT_ACTIVE;
        return reply(CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK, SLOT_ACTIVE, this.#card.atr);
      case CCID_MESSAGE.PC_TO_RDR_ICC_POWER_OFF:
        this.#card.powerOff?.();
        this.#slot = SLOT_INACTIVE;
        return reply(CCID_MESSAGE.RDR_TO_PC_SLOT_STATUS, SLOT_INACTIVE);
      case CCID_MESSAGE.PC_TO_RDR_GET_SLOT_STATUS:
        return reply(CCID_MESSAGE.RDR_TO_PC_SLOT_STATUS, this.#slot);
      case CCID_MESSAGE.PC_TO_RDR_SET_PARAMETERS:
      case CCID_MESSAGE.PC_TO_RDR_GET_PARAMETERS:
      case CCID_MESSAGE.PC_TO_RDR_RESET_PARAMETERS:
        return reply(CCID_MESSAGE.RDR_TO_PC_PARAMETERS, this.#slot, T1_PARAMETERS, 1);
      case CCID_MESSAGE.PC_TO_RDR_SET_DATA_RATE_AND_CLOCK:
        return reply(CCID_MESSAGE.RDR_TO_PC_DATA_RATE_AND_CLOCK, this.#slot, new Uint8Array(8));
      case CCID_MESSAGE.PC_TO_RDR_XFR_BLOCK:
        return this.#transfer(message, reply);
      default:
        // The firmware sends no reply to Escape, Secure, T0APDU, Mechanical, Abort and unknown types.
        return;
    }
  }

  async #transfer(message: CcidMessage, reply: (type: number, status: number, data?: Uint8Array) => void): Promise<void> {
    try {
      parseCommandApdu(message.data);
    } catch {
      return; // The firmware drops a malformed APDU without a reply.
    }

    for (let i = this.#timeExtensions(message.data); i > 0; i--) reply(CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK, STATUS_TIME_EXTENSION | this.#slot);
    const isGetResponse = message.data[1] === INS_GET_RESPONSE && this.#remainder.length > 0;
    const response = isGetResponse ? this.#continueResponse(message.data) : this.#splitResponse(await this.#card.transmit(message.data));
    if (!this.connected) return;
    reply(CCID_MESSAGE.RDR_TO_PC_DATA_BLOCK, this.#slot, response);
  }

  /** Keeps response data beyond what one DataBlock carries for GET RESPONSE, as the firmware does, and returns the first part with 61XX. */
  #splitResponse(response: Uint8Array): Uint8Array {
    const dataLength = response.length - 2;
    if (dataLength <= MAX_RESPONSE_DATA) {
      this.#remainder = new Uint8Array();
      return response;
    }
    this.#remainder = response.slice(MAX_RESPONSE_DATA);
    return this.#remainderStatus(response.subarray(0, MAX_RESPONSE_DATA));
  }

  /** Returns the next part of a split response for GET RESPONSE (`00 C0 00 00 Le`). */
  #continueResponse(command: Uint8Array): Uint8Array {
    const ne = getResponseNe(command);
    const take = Math.min(ne, MAX_RESPONSE_DATA, this.#remainder.length - 2);
    const part = this.#remainder.slice(0, take);
    this.#remainder = this.#remainder.slice(take);
    if (this.#remainder.length === 2) {
      const last = concat(part, this.#remainder);
      this.#remainder = new Uint8Array();
      return last;
    }
    return this.#remainderStatus(part);
  }

  /** Appends 61XX, where XX is the number of data bytes left (00 for 256 or more). */
  #remainderStatus(data: Uint8Array): Uint8Array {
    const left = this.#remainder.length - 2;
    return concat(data, Uint8Array.of(0x61, left >= 256 ? 0 : left));
  }

  #reply(pipe: Pipe, message: Omit<CcidMessage, "data"> & { data: Uint8Array }): void {
    pipe.outgoing = concat(pipe.outgoing, encodeCcidMessage(message));
    this.#deliver(pipe);
  }

  /** Hands queued bytes to waiting reads, at most one packet (or `maxTransferLength`) per read. */
  #deliver(pipe: Pipe): void {
    while (pipe.waiters.length > 0 && pipe.outgoing.length > 0) {
      const waiter = pipe.waiters.shift()!;
      const size = Math.min(waiter.length, this.#maxTransferLength, pipe.outgoing.length);
      const chunk = pipe.outgoing.slice(0, size);
      pipe.outgoing = pipe.outgoing.slice(size);
      waiter.resolve({ status: "ok", data: dataView(chunk) });
    }
  }
}

/** Returns Ne of a GET RESPONSE command: short Le 00 means 256, extended 0000 means 65536. */
function getResponseNe(command: Uint8Array): number {
  if (command.length === 5) return command[4] || 256;
  if (command.length === 7) return ((command[5] << 8) | command[6]) || 65536;
  return 256;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
