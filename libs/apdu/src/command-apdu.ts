/**
 * Command APDU codec (ISO/IEC 7816-4 section 5.1), cases 1 to 4 in short and
 * extended form.
 *
 * Nc is the number of command data bytes and Ne the maximum number of response
 * data bytes the host expects (from the Le field). Parsing follows the
 * SmartCard-HSM firmware where it differs from ISO: a 4-byte case 1 command gets
 * Ne = 256, as if Le were 00.
 */
import { CardError } from "./card-error.ts";
import { SW } from "./status-words.ts";

/** A parsed command APDU. */
export interface CommandApdu {
  /** Class byte: chaining bit 0x10, secure-messaging bits 0x0C, logical channel bits 0x03. */
  cla: number;
  /** Instruction byte. */
  ins: number;
  p1: number;
  p2: number;
  /** Command data (Nc = data.length), owned by this object. */
  data: Uint8Array;
  /** Ne: 0 when no Le is present; 256 for short Le 00 and for case 1; 65536 for extended Le 0000. */
  ne: number;
  /** Whether the Lc/Le fields used the extended (3-byte / 2-byte) form. */
  extended: boolean;
}

/** The fields `encodeCommandApdu` needs; `data` and `ne` default to empty and 0. */
export interface CommandApduFields {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  ne?: number;
}

const HEADER_LENGTH = 4;

/** Largest Nc of an extended command. */
export const MAX_EXTENDED_NC = 0xffff;

/** Largest frame: header, extended Lc (3 bytes), 65535 data bytes, extended Le (2 bytes). */
export const MAX_COMMAND_APDU_LENGTH = HEADER_LENGTH + 3 + MAX_EXTENDED_NC + 2;

/**
 * Parses a command APDU frame. A frame shorter than 4 bytes, or one whose
 * length does not match its Lc, throws CardError(SW.WRONG_LENGTH) with a
 * message that names the problem.
 *
 * Two shapes that ISO 7816-4 forbids are accepted as the firmware accepts them:
 * a short `00` Lc followed by one Le byte (Nc = 0), and an extended Lc `0000`
 * followed by a 2-byte Le (Nc = 0).
 */
export function parseCommandApdu(bytes: Uint8Array): CommandApdu {
  const length = bytes.length;
  if (length < HEADER_LENGTH) {
    throw new CardError(SW.WRONG_LENGTH, `command APDU of ${length} byte(s) is shorter than the 4-byte header`);
  }

  const header = { cla: bytes[0], ins: bytes[1], p1: bytes[2], p2: bytes[3] };
  if (length === HEADER_LENGTH) return { ...header, data: new Uint8Array(), ne: 256, extended: false };
  if (length === 5) return { ...header, data: new Uint8Array(), ne: shortNe(bytes[4]), extended: false };

  if (bytes[4] === 0x00 && length >= 7) return parseExtended(bytes, header);
  return parseShort(bytes, header);
}

type Header = Pick<CommandApdu, "cla" | "ins" | "p1" | "p2">;

function parseShort(bytes: Uint8Array, header: Header): CommandApdu {
  const nc = bytes[4];
  const dataEnd = 5 + nc;

  if (bytes.length === dataEnd) return { ...header, data: bytes.slice(5, dataEnd), ne: 0, extended: false };
  if (bytes.length === dataEnd + 1) return { ...header, data: bytes.slice(5, dataEnd), ne: shortNe(bytes[dataEnd]), extended: false };

  throw new CardError(
    SW.WRONG_LENGTH,
    `short command APDU with Lc ${nc} must be ${dataEnd} or ${dataEnd + 1} bytes long, but it is ${bytes.length}`,
  );
}

function parseExtended(bytes: Uint8Array, header: Header): CommandApdu {
  const field = (bytes[5] << 8) | bytes[6];
  if (bytes.length === 7) return { ...header, data: new Uint8Array(), ne: extendedNe(field), extended: true };

  const nc = field;
  const dataEnd = 7 + nc;
  if (bytes.length === dataEnd) return { ...header, data: bytes.slice(7, dataEnd), ne: 0, extended: true };
  if (bytes.length === dataEnd + 2) {
    const le = (bytes[dataEnd] << 8) | bytes[dataEnd + 1];
    return { ...header, data: bytes.slice(7, dataEnd), ne: extendedNe(le), extended: true };
  }

  throw new CardError(
    SW.WRONG_LENGTH,
    `extended command APDU with Lc ${nc} must be ${dataEnd} or ${dataEnd + 2} bytes long, but it is ${bytes.length}`,
  );
}

function shortNe(le: number): number {
  return le === 0 ? 256 : le;
}

function extendedNe(le: number): number {
  return le === 0 ? 65536 : le;
}

/**
 * Encodes a command APDU. The extended form is used when `options.extended` is
 * set, when Nc exceeds 255 or when Ne exceeds 256. Ne 256 is short Le 00 and
 * Ne 65536 is extended Le 0000. Throws RangeError for a field out of range.
 *
 * A command without data and with Ne = 0 encodes as the 4-byte header, which the
 * SmartCard-HSM parses as Ne = 256.
 */
export function encodeCommandApdu(command: CommandApduFields, options: { extended?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const data = command.data ?? new Uint8Array();
  const ne = command.ne ?? 0;
  checkByte("CLA", command.cla);
  checkByte("INS", command.ins);
  checkByte("P1", command.p1);
  checkByte("P2", command.p2);
  if (data.length > MAX_EXTENDED_NC) throw new RangeError(`invalid command data length ${data.length}: Nc must be at most ${MAX_EXTENDED_NC}`);
  if (!Number.isInteger(ne) || ne < 0 || ne > 65536) throw new RangeError(`invalid Ne ${ne}: must be an integer from 0 to 65536`);

  const extended = options.extended === true || data.length > 255 || ne > 256;
  const header = [command.cla, command.ins, command.p1, command.p2];
  const lc = encodeLc(data.length, extended);
  const le = encodeLe(ne, extended, data.length > 0);

  const out = new Uint8Array(header.length + lc.length + data.length + le.length);
  out.set(header, 0);
  out.set(lc, header.length);
  out.set(data, header.length + lc.length);
  out.set(le, header.length + lc.length + data.length);
  return out;
}

function encodeLc(nc: number, extended: boolean): number[] {
  if (nc === 0) return [];
  if (!extended) return [nc];
  return [0x00, nc >> 8, nc & 0xff];
}

function encodeLe(ne: number, extended: boolean, hasData: boolean): number[] {
  if (ne === 0) return [];
  if (!extended) return [ne & 0xff];

  const value = ne & 0xffff;
  const bytes = [value >> 8, value & 0xff];
  return hasData ? bytes : [0x00, ...bytes];
}

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`invalid ${name} ${value}: must be a byte (0 to 255)`);
}
