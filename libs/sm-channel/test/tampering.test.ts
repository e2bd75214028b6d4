// Bad input on both sides: every flipped bit, truncated objects, replays and
// missing objects close the session with the status word 6984 (card) or a
// SecureMessagingError (host).
import { CardError, encodeCommandApdu, parseCommandApdu } from "@hsmkit/apdu";
import { encodeTlv, fromHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import { deriveSessionKeys, SecureChannel, SecureMessagingError } from "../src/index.ts";

const KEYS = deriveSessionKeys(new Uint8Array(32).fill(0x11), fromHex("0102030405060708"));
const WRAPPED = fromHex("0C2000811D8711010091C61B87CA3C7413E73ED05DACD63F8E08DB03209D249D5C2F");
const RESPONSE = fromHex("8711017C374B05233776134C003600A8E9FDA5990290008E0823FF0503E7A94DC2");

function cardRejects(frame: Uint8Array, channel = new SecureChannel(KEYS)): CardError {
  try {
    channel.unwrapCommand(parseCommandApdu(frame));
  } catch (error) {
    expect(channel.isOpen).toBe(false);
    return error as CardError;
  }
  throw new Error("the protected command was accepted");
}

describe("card side", () => {
  it("rejects every flipped bit of the command", () => {
    for (let bit = 0; bit < WRAPPED.length * 8; bit++) {
      const frame = WRAPPED.slice();
      frame[bit >> 3] ^= 1 << (bit & 7);
      if ((frame[0] & 0x0c) === 0) continue; // no longer an SM command; the runtime never passes it here
      let parsed;
      try {
        parsed = parseCommandApdu(frame);
      } catch {
        continue; // flipping Lc makes the frame unparseable: 6700 from the runtime
      }
      const channel = new SecureChannel(KEYS);
      expect(() => channel.unwrapCommand(parsed), `bit ${bit}`).toThrow(CardError);
      expect(channel.isOpen, `bit ${bit}`).toBe(false);
    }
  });

  it("answers 6984 for a wrong MAC", () => {
    const frame = WRAPPED.slice();
    frame[frame.length - 1] ^= 0x01;
    expect(cardRejects(frame).sw).toBe(0x6984);
  });

  it("answers 6984 for a missing MAC", () => {
    const frame = encodeCommandApdu({ cla: 0x0c, ins: 0x20, p1: 0, p2: 0x81, data: WRAPPED.subarray(5, 5 + 19) });
    expect(cardRejects(frame).sw).toBe(0x6984);
  });

  it("answers 6984 for a truncated object", () => {
    const frame = encodeCommandApdu({ cla: 0x0c, ins: 0x20, p1: 0, p2: 0x81, data: WRAPPED.subarray(5, WRAPPED.length - 3) });
    expect(cardRejects(frame).sw).toBe(0x6984);
  });

  it("answers 6984 for a 4-byte MAC", () => {
    const frame = encodeCommandApdu({ cla: 0x0c, ins: 0x20, p1: 0, p2: 0x81, data: encodeTlv(0x8e, new Uint8Array(4)) });
    expect(cardRejects(frame).sw).toBe(0x6984);
  });

  it("rejects a replayed command", () => {
    const channel = new SecureChannel(KEYS);
    channel.unwrapCommand(parseCommandApdu(WRAPPED));
    channel.wrapResponse(new Uint8Array(), 0x9000);
    expect(cardRejects(WRAPPED, channel).sw).toBe(0x6984);
  });

  it("answers 6987 once the session is closed", () => {
    const channel = new SecureChannel(KEYS);
    channel.close();
    expect(() => channel.unwrapCommand(parseCommandApdu(WRAPPED))).toThrow(expect.objectContaining({ sw: 0x6987 }));
  });

  it("reads Ne from DO 97", () => {
    const host = new SecureChannel(KEYS);
    const card = new SecureChannel(KEYS);
    for (const ne of [1, 255, 256, 257, 65536]) {
      const wrapped = host.wrapCommand({ cla: 0x80, ins: 0x58, p1: 0, p2: 0, ne });
      const plain = card.unwrapCommand(parseCommandApdu(encodeCommandApdu(wrapped.command, { extended: wrapped.extended })));
      expect(plain.ne, `Ne ${ne}`).toBe(ne);
      expect(plain.cla).toBe(0x80);
      host.unwrapResponse({ data: card.wrapResponse(new Uint8Array(), 0x9000), sw: 0x9000 });
    }
  });

  it("round-trips odd-INS data in DO 85", () => {
    const host = new SecureChannel(KEYS);
    const card = new SecureChannel(KEYS);
    const data = fromHex("54020000");
    const wrapped = host.wrapCommand({ cla: 0x00, ins: 0xb1, p1: 0x2f, p2: 0x02, data, ne: 256 });
    expect(wrapped.command.data![0]).toBe(0x85);
    const plain = card.unwrapCommand(parseCommandApdu(encodeCommandApdu(wrapped.command)));
    expect(plain.data).toEqual(data);
  });
});

describe("host side", () => {
  it("rejects every flipped bit of the response", () => {
    for (let bit = 0; bit < RESPONSE.length * 8; bit++) {
      const data = RESPONSE.slice();
      data[bit >> 3] ^= 1 << (bit & 7);
      const channel = new SecureChannel(KEYS, 1n);
      expect(() => channel.unwrapResponse({ data, sw: 0x9000 }), `bit ${bit}`).toThrow(SecureMessagingError);
      expect(channel.isOpen).toBe(false);
    }
  });

  it("reports an unprotected error status", () => {
    const channel = new SecureChannel(KEYS, 1n);
    expect(() => channel.unwrapResponse({ data: new Uint8Array(), sw: 0x6984 })).toThrow(expect.objectContaining({ code: "card-error", sw: 0x6984 }));
    expect(channel.isOpen).toBe(false);
  });

  it("rejects a response without DO 99", () => {
    const channel = new SecureChannel(KEYS, 1n);
    expect(() => channel.unwrapResponse({ data: RESPONSE.subarray(0, 19), sw: 0x9000 })).toThrow(/DO 99/);
  });

  it("refuses to wrap after close", () => {
    const channel = new SecureChannel(KEYS);
    channel.close();
    expect(() => channel.wrapCommand({ cla: 0, ins: 0x84, p1: 0, p2: 0, ne: 8 })).toThrow(expect.objectContaining({ code: "closed" }));
  });

  it("rejects session keys of the wrong length", () => {
    expect(() => new SecureChannel({ kEnc: new Uint8Array(8), kMac: new Uint8Array(16) })).toThrow(/16 each/);
  });
});
