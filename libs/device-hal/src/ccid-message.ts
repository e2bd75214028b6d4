/**
 * CCID (USB Integrated Circuit(s) Cards Interface Device, rev 1.1) bulk
 * messages: a 10-byte header (bMessageType, dwLength LE, bSlot, bSeq, three
 * message-specific bytes) followed by dwLength data bytes.
 */

export const CCID_HEADER_LENGTH = 10;
/** Largest message the Pico Keys firmware accepts: header plus 2038 data bytes. */
export const CCID_MAX_MESSAGE_LENGTH = 2048;

/** bMessageType values, host to reader (PC_to_RDR) and reader to host (RDR_to_PC). */
export const CCID_MESSAGE = {
  PC_TO_RDR_SET_PARAMETERS: 0x61,
  PC_TO_RDR_ICC_POWER_ON: 0x62,
  PC_TO_RDR_ICC_POWER_OFF: 0x63,
  PC_TO_RDR_GET_SLOT_STATUS: 0x65,
  PC_TO_RDR_GET_PARAMETERS: 0x6c,
  PC_TO_RDR_RESET_PARAMETERS: 0x6d,
  PC_TO_RDR_XFR_BLOCK: 0x6f,
  PC_TO_RDR_SET_DATA_RATE_AND_CLOCK: 0x73,
  RDR_TO_PC_DATA_BLOCK: 0x80,
  RDR_TO_PC_SLOT_STATUS: 0x81,
  RDR_TO_PC_PARAMETERS: 0x82,
  RDR_TO_PC_DATA_RATE_AND_CLOCK: 0x84,
  RDR_TO_PC_NOTIFY_SLOT_CHANGE: 0x50,
} as const;

/** bmCommandStatus, bits 7..6 of bStatus. */
export const CCID_COMMAND_STATUS = { PROCESSED: 0, FAILED: 1, TIME_EXTENSION: 2 } as const;
/** bmICCStatus, bits 1..0 of bStatus. */
export const CCID_ICC_STATUS = { ACTIVE: 0, INACTIVE: 1, ABSENT: 2 } as const;

export interface CcidMessage {
  type: number;
  slot: number;
  seq: number;
  /** Bytes 7, 8, 9 of the header: bStatus, bError, bChainParameter in replies. */
  param: [number, number, number];
  data: Uint8Array<ArrayBuffer>;
}

/** Encodes a header and data into one bulk message. */
export function encodeCcidMessage(message: Omit<CcidMessage, "data"> & { data: Uint8Array }): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(CCID_HEADER_LENGTH + message.data.length);
  const view = new DataView(out.buffer);
  out[0] = message.type;
  view.setUint32(1, message.data.length, true);
  out[5] = message.slot;
  out[6] = message.seq;
  out.set(message.param, 7);
  out.set(message.data, CCID_HEADER_LENGTH);
  return out;
}

/** Returns the total length of the message starting at `bytes[0]`, or undefined when fewer than 10 bytes arrived. */
export function ccidMessageLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < CCID_HEADER_LENGTH) return undefined;
  return CCID_HEADER_LENGTH + new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1, true);
}

/** Decodes one complete message; the caller checked the length with `ccidMessageLength`. */
export function decodeCcidMessage(bytes: Uint8Array): CcidMessage {
  const length = ccidMessageLength(bytes)!;
  return {
    type: bytes[0],
    slot: bytes[5],
    seq: bytes[6],
    param: [bytes[7], bytes[8], bytes[9]],
    data: Uint8Array.from(bytes.subarray(CCID_HEADER_LENGTH, length)),
  };
}

/** CCID error codes of bError when bmCommandStatus is "failed". */
export const CCID_ERROR_NAMES: Record<number, string> = {
  0xfe: "ICC mute",
  0xfc: "XFR overrun",
  0xfb: "hardware error",
  0x00: "command not supported",
};
