/**
 * One secure-messaging (SM) session after chip authentication: the two AES-128
 * session keys and the send sequence counter (SSC), with both sides of the
 * exchange. Each protected command and each protected response increments the
 * SSC first, so the host wraps command n with SSC = 2n − 1 and the card wraps the
 * response with SSC = 2n.
 *
 * Protected command (CLA bits 0C):
 *   87 L 01 <ciphertext>   data of an even INS (85 L <ciphertext> for an odd INS)
 *   97 L <Le>              expected length, 1 or 2 bytes
 *   8E 08 <MAC>            CMAC over SSC ‖ header block ‖ odd-tag objects ‖ padding
 * Protected response, always with transport status 9000:
 *   87 L 01 <ciphertext>   response data, absent when there is none
 *   99 02 <SW1 SW2>        the status word of the command
 *   8E 08 <MAC>            CMAC over SSC ‖ 87 ‖ 99 ‖ padding
 *
 * Any failure closes the session: the keys are wiped and every later call throws.
 */
import { CardError, SW, type CommandApdu, type CommandApduFields, type ResponseApdu } from "@hsmkit/apdu";
import { concatBytes, decodeTlvs, encodeTlv, toHex, type Tlv } from "@hsmkit/tlv";
import { SecureMessagingError } from "./errors.ts";
import { constantTimeEqual, decryptData, encryptData, headerBlock, macOf, MAX_SSC } from "./protection.ts";
import { MAC_LENGTH, type SessionKeys } from "./session-keys.ts";

/** CLA bits that mark secure messaging; both set means the header is MACed too. */
export const CLA_SM_BITS = 0x0c;

const TAG_ODD_INS_DATA = 0x85;
const TAG_DATA = 0x87;
const TAG_LE = 0x97;
const TAG_STATUS = 0x99;
const TAG_MAC = 0x8e;

/** Padding-content indicator that starts DO 87: 01 = ISO padding. */
const PADDING_INDICATOR = 0x01;

/** A protected command ready to send: the fields for encodeCommandApdu and whether it needs the extended form. */
export interface WrappedCommand {
  readonly command: CommandApduFields;
  readonly extended: boolean;
}

export class SecureChannel {
  #keys: SessionKeys | undefined;
  #ssc: bigint;

  /** Starts a session with the keys from chip authentication; `ssc` is 0 after GENERAL AUTHENTICATE. */
  constructor(keys: SessionKeys, ssc = 0n) {
    if (keys.kEnc.length !== 16 || keys.kMac.length !== 16) {
      throw new SecureMessagingError("malformed", `invalid session keys: ${keys.kEnc.length} and ${keys.kMac.length} bytes, expected 16 each`);
    }
    this.#keys = { kEnc: keys.kEnc.slice(), kMac: keys.kMac.slice() };
    this.#ssc = ssc;
  }

  /** The send sequence counter: the value the last protected message used. */
  get ssc(): bigint {
    return this.#ssc;
  }

  /** Whether the session can still protect messages. */
  get isOpen(): boolean {
    return this.#keys !== undefined;
  }

  /** Wipes the session keys; every later call fails. */
  close(): void {
    this.#keys?.kEnc.fill(0);
    this.#keys?.kMac.fill(0);
    this.#keys = undefined;
  }

  // --- host side -----------------------------------------------------------

  /**
   * Protects a plain command. The wrapped command requests all response bytes
   * (Le 00, or 0000 in the extended form), because the protected response is
   * longer than the plain one. The plain Ne travels in DO 97.
   */
  wrapCommand(plain: CommandApduFields): WrappedCommand {
    const keys = this.#hostKeys();
    const ssc = this.#next();
    const cla = plain.cla | CLA_SM_BITS;
    const data = plain.data ?? new Uint8Array();
    const ne = plain.ne ?? 0;

    const objects: Uint8Array[] = [];
    if (data.length > 0) {
      const ciphertext = encryptData(keys, ssc, data);
      objects.push((plain.ins & 1) === 1 ? encodeTlv(TAG_ODD_INS_DATA, ciphertext) : encodeTlv(TAG_DATA, concatBytes(Uint8Array.of(PADDING_INDICATOR), ciphertext)));
    }
    if (ne > 0) objects.push(encodeTlv(TAG_LE, encodeLe(ne)));

    const mac = macOf(keys, ssc, headerBlock(cla, plain.ins, plain.p1, plain.p2), objects);
    const body = concatBytes(...objects, encodeTlv(TAG_MAC, mac));
    // A response longer than Le comes back with 61XX and GET RESPONSE, so short Le 00 suffices.
    const extended = body.length > 255;
    return { command: { cla, ins: plain.ins, p1: plain.p1, p2: plain.p2, data: body, ne: extended ? 65536 : 256 }, extended };
  }

  /**
   * Checks and decrypts a protected response; returns the plain data and the
   * status word from DO 99. Throws SecureMessagingError (and closes the session)
   * when the card responded without protection, or the MAC or structure is wrong.
   */
  unwrapResponse(response: ResponseApdu): ResponseApdu {
    const keys = this.#hostKeys();
    const ssc = this.#next();

    if (response.sw !== SW.OK) {
      this.close();
      throw new SecureMessagingError("card-error", `card rejected the protected command with SW ${hexSw(response.sw)}; the session is closed`, response.sw);
    }

    const objects = this.#parseObjects(response.data, (problem) => new SecureMessagingError("malformed", `invalid protected response: ${problem}`));
    const data = objects.find((tlv) => tlv.tag === TAG_DATA);
    const status = objects.find((tlv) => tlv.tag === TAG_STATUS);
    const mac = objects.find((tlv) => tlv.tag === TAG_MAC);
    if (status === undefined || status.value.length !== 2) throw this.#fail(new SecureMessagingError("malformed", "invalid protected response: missing or malformed DO 99 (status word)"));
    if (mac === undefined) throw this.#fail(new SecureMessagingError("malformed", "invalid protected response: missing DO 8E (MAC)"));

    const macInput = [data, status].filter((tlv) => tlv !== undefined).map((tlv) => rawOf(response.data, tlv));
    if (!constantTimeEqual(macOf(keys, ssc, new Uint8Array(), macInput), mac.value)) {
      throw this.#fail(new SecureMessagingError("bad-mac", "invalid protected response: MAC does not match; the session is closed"));
    }

    let plain: Uint8Array = new Uint8Array();
    if (data !== undefined) {
      const decrypted = data.value[0] === PADDING_INDICATOR ? decryptData(keys, ssc, data.value.subarray(1)) : undefined;
      if (decrypted === undefined) throw this.#fail(new SecureMessagingError("malformed", "invalid protected response: DO 87 does not decrypt to padded data"));
      plain = decrypted;
    }
    return { data: plain, sw: (status.value[0] << 8) | status.value[1] };
  }

  // --- card side -----------------------------------------------------------

  /**
   * Checks and decrypts a protected command and returns the plain command (CLA
   * without the SM bits, Ne from DO 97, else 0). Throws CardError 6984 and closes
   * the session when DO 8E is missing or wrong, an object is truncated, or the
   * data does not decrypt to padded plaintext.
   */
  unwrapCommand(command: CommandApdu): CommandApdu {
    const keys = this.#cardKeys();
    const ssc = this.#next();
    const reject = (problem: string) => new CardError(SW.REFERENCE_DATA_NOT_USABLE, `invalid protected command: ${problem}; the session is closed`);

    const objects = this.#parseObjects(command.data, reject);
    const mac = objects.find((tlv) => tlv.tag === TAG_MAC);
    if (mac === undefined) throw this.#fail(reject("missing DO 8E (MAC)"));
    if (mac.value.length !== MAC_LENGTH) throw this.#fail(reject(`DO 8E has ${mac.value.length} bytes, expected ${MAC_LENGTH}`));

    const header = (command.cla & CLA_SM_BITS) === CLA_SM_BITS ? headerBlock(command.cla, command.ins, command.p1, command.p2) : new Uint8Array();
    const macInput = objects.filter((tlv) => (tlv.tag & 1) === 1).map((tlv) => rawOf(command.data, tlv));
    if (!constantTimeEqual(macOf(keys, ssc, header, macInput), mac.value)) throw this.#fail(reject("MAC does not match"));

    const data = this.#commandData(keys, ssc, objects, reject);
    const le = objects.find((tlv) => tlv.tag === TAG_LE);
    const ne = le === undefined ? 0 : decodeLe(le.value);
    if (ne === undefined) throw this.#fail(reject(`DO 97 has ${le!.value.length} bytes, expected 1 or 2`));

    return { cla: command.cla & ~CLA_SM_BITS, ins: command.ins, p1: command.p1, p2: command.p2, data, ne, extended: command.extended };
  }

  /** Protects the response to a command: returns DO 87 (if there is data) ‖ DO 99 ‖ DO 8E, to send with SW 9000. */
  wrapResponse(data: Uint8Array, sw: number): Uint8Array {
    const keys = this.#cardKeys();
    const ssc = this.#next();

    const objects: Uint8Array[] = [];
    if (data.length > 0) objects.push(encodeTlv(TAG_DATA, concatBytes(Uint8Array.of(PADDING_INDICATOR), encryptData(keys, ssc, data))));
    objects.push(encodeTlv(TAG_STATUS, Uint8Array.of(sw >> 8, sw & 0xff)));

    const mac = macOf(keys, ssc, new Uint8Array(), objects);
    return concatBytes(...objects, encodeTlv(TAG_MAC, mac));
  }

  // --- internals -----------------------------------------------------------

  #commandData(keys: SessionKeys, ssc: bigint, objects: Tlv[], reject: (problem: string) => CardError): Uint8Array {
    const even = objects.find((tlv) => tlv.tag === TAG_DATA);
    const odd = objects.find((tlv) => tlv.tag === TAG_ODD_INS_DATA);
    if (even === undefined && odd === undefined) return new Uint8Array();
    if (even !== undefined && odd !== undefined) throw this.#fail(reject("both DO 85 and DO 87 present"));

    let ciphertext: Uint8Array;
    if (even !== undefined) {
      if (even.value[0] !== PADDING_INDICATOR) throw this.#fail(reject("DO 87 does not start with the padding indicator 01"));
      ciphertext = even.value.subarray(1);
    } else {
      ciphertext = odd!.value;
    }

    const data = decryptData(keys, ssc, ciphertext);
    if (data === undefined) throw this.#fail(reject(`the ${ciphertext.length}-byte ciphertext does not decrypt to padded data`));
    return data;
  }

  #parseObjects<E extends Error>(bytes: Uint8Array, reject: (problem: string) => E): Tlv[] {
    try {
      return decodeTlvs(bytes);
    } catch (error) {
      throw this.#fail(reject(`truncated or malformed data objects (${(error as Error).message})`));
    }
  }

  /** Increments the SSC and returns the new value. */
  #next(): bigint {
    if (this.#ssc === MAX_SSC) {
      this.close();
      throw new SecureMessagingError("closed", "send sequence counter exhausted; open a new session");
    }
    this.#ssc += 1n;
    return this.#ssc;
  }

  #hostKeys(): SessionKeys {
    if (this.#keys === undefined) throw new SecureMessagingError("closed", "secure messaging session is closed; run chip authentication again");
    return this.#keys;
  }

  #cardKeys(): SessionKeys {
    if (this.#keys === undefined) throw new CardError(SW.SM_DATA_OBJECTS_MISSING, "no secure messaging session: run MSE SET AT and GENERAL AUTHENTICATE first");
    return this.#keys;
  }

  #fail<E extends Error>(error: E): E {
    this.close();
    return error;
  }
}

/** Encodes Ne for DO 97: one byte up to 256 (00 = 256), else two bytes (0000 = 65536). */
function encodeLe(ne: number): Uint8Array {
  if (!Number.isInteger(ne) || ne < 0 || ne > 65536) throw new SecureMessagingError("malformed", `invalid Ne ${ne}: expected 0 to 65536`);
  if (ne <= 256) return Uint8Array.of(ne & 0xff);
  return Uint8Array.of((ne >> 8) & 0xff, ne & 0xff);
}

function decodeLe(value: Uint8Array): number | undefined {
  if (value.length === 1) return value[0] === 0 ? 256 : value[0];
  if (value.length === 2) return ((value[0] << 8) | value[1]) || 65536;
  return undefined;
}

/** Returns the complete encoding (tag, length, value) of a decoded object. */
function rawOf(buffer: Uint8Array, tlv: Tlv): Uint8Array {
  return buffer.subarray(tlv.offset, tlv.offset + tlv.encodedLength);
}

function hexSw(sw: number): string {
  return toHex(Uint8Array.of(sw >> 8, sw & 0xff)).toUpperCase();
}
