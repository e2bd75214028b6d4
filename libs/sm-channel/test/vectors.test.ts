// Vectors built with the SmartCard-HSM formulas (Z = 11 × 32, nonce 01..08) and
// checked here against the library: key derivation, token, one protected command
// and two protected responses.
import { encodeCommandApdu, parseCommandApdu } from "@hsmkit/apdu";
import { fromHex, toHex } from "@hsmkit/tlv";
import { describe, expect, it } from "vitest";
import { authenticationToken, deriveSessionKeys, SecureChannel } from "../src/index.ts";

const Z = new Uint8Array(32).fill(0x11);
const NONCE = fromHex("0102030405060708");
const PK_PCD = fromHex("04" + "22".repeat(64));
const KEYS = deriveSessionKeys(Z, NONCE);

const VERIFY_WRAPPED = "0C2000811D8711010091C61B87CA3C7413E73ED05DACD63F8E08DB03209D249D5C2F";

function hex(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}

describe("session keys", () => {
  it("derives K_enc and K_mac", () => {
    expect(hex(KEYS.kEnc)).toBe("612CE48AC38E0A04326D94B9562A4898");
    expect(hex(KEYS.kMac)).toBe("9F8B03D35024906489920FC23501A47C");
  });

  it("computes the authentication token", () => {
    expect(hex(authenticationToken(KEYS.kMac, PK_PCD))).toBe("F3B370C6F688092D");
  });

  it("rejects a nonce of the wrong length", () => {
    expect(() => deriveSessionKeys(Z, new Uint8Array(7))).toThrow(/nonce: 7 bytes/);
  });
});

describe("protected command", () => {
  it("wraps VERIFY with SSC 1", () => {
    const channel = new SecureChannel(KEYS);
    const wrapped = channel.wrapCommand({ cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: new TextEncoder().encode("648219") });
    const frame = hex(encodeCommandApdu(wrapped.command, { extended: wrapped.extended }));

    expect(channel.ssc).toBe(1n);
    expect(frame.slice(0, VERIFY_WRAPPED.length)).toBe(VERIFY_WRAPPED);
    expect(frame.slice(VERIFY_WRAPPED.length)).toBe("00");
  });

  it("unwraps VERIFY on the card side", () => {
    const channel = new SecureChannel(KEYS);
    const plain = channel.unwrapCommand(parseCommandApdu(fromHex(VERIFY_WRAPPED)));

    expect(plain.cla).toBe(0x00);
    expect(plain.ins).toBe(0x20);
    expect(plain.p2).toBe(0x81);
    expect(new TextDecoder().decode(plain.data)).toBe("648219");
    expect(plain.ne).toBe(0);
    expect(channel.ssc).toBe(1n);
  });
});

describe("protected response", () => {
  it("wraps 9000 without data with SSC 2", () => {
    const channel = new SecureChannel(KEYS, 1n);
    expect(hex(channel.wrapResponse(new Uint8Array(), 0x9000))).toBe("990290008E08379F740E8C711D56");
  });

  it("wraps data ABC with SSC 2", () => {
    const channel = new SecureChannel(KEYS, 1n);
    const wrapped = channel.wrapResponse(new TextEncoder().encode("ABC"), 0x9000);
    expect(hex(wrapped)).toBe("8711017C374B05233776134C003600A8E9FDA5990290008E0823FF0503E7A94DC2");
  });

  it("unwraps data ABC on the host side", () => {
    const channel = new SecureChannel(KEYS, 1n);
    const response = channel.unwrapResponse({ data: fromHex("8711017C374B05233776134C003600A8E9FDA5990290008E0823FF0503E7A94DC2"), sw: 0x9000 });
    expect(new TextDecoder().decode(response.data)).toBe("ABC");
    expect(response.sw).toBe(0x9000);
    expect(channel.ssc).toBe(2n);
  });
});
