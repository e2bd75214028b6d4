// The HD cipher for CIPHER SYMMETRIC with the HD OID (hd/cipher.ts): SLIP-0011 key and IV
// derivation from the pending SLIP-21 node, checked against AES-CBC computed here.
import { describe, expect, it } from "vitest";
import { CardError } from "@hsmkit/apdu";
import { Slip21Node } from "@hsmkit/hd-keys";
import { cbc } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { fromHex, toHex } from "@hsmkit/tlv";
import { hdCipher } from "../src/hd/cipher.ts";
import { HD_TYPE, loadPendingNode } from "../src/hd/pending-node.ts";
import { SessionState } from "../src/hsm/session.ts";

const NODE = Slip21Node.fromMasterSeed(fromHex("000102030405060708090a0b0c0d0e0f")).derive(["SLIP-0021", "Master encryption key"]);
const AAD = new TextEncoder().encode("testE1D1");
const PLAINTEXT = new TextEncoder().encode("sixteen byte blk".repeat(3));

function sessionWithNode(): SessionState {
  const session = new SessionState();
  loadPendingNode(session, { type: HD_TYPE.SYMMETRIC, key: NODE.key });
  return session;
}

function swOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CardError) return error.sw.toString(16).toUpperCase();
    throw error;
  }
  return "9000";
}

describe("HD cipher", () => {
  it("encrypts with the key and IV derived from the AAD", () => {
    const derived = hmac(sha512, NODE.key, AAD);
    const expected = cbc(derived.subarray(0, 32), derived.subarray(32, 48), { disablePadding: true }).encrypt(PLAINTEXT);

    const ciphertext = hdCipher(sessionWithNode(), { input: PLAINTEXT, aad: AAD }, true);
    expect(toHex(ciphertext)).toBe(toHex(expected));
    expect(toHex(hdCipher(sessionWithNode(), { input: ciphertext, aad: AAD }, false))).toBe(toHex(PLAINTEXT));
  });

  it("uses a supplied IV instead of the derived one", () => {
    const iv = fromHex("00112233445566778899aabbccddeeff");
    const derived = hmac(sha512, NODE.key, AAD);
    const expected = cbc(derived.subarray(0, 32), iv, { disablePadding: true }).encrypt(PLAINTEXT);
    expect(toHex(hdCipher(sessionWithNode(), { input: PLAINTEXT, aad: AAD, iv }, true))).toBe(toHex(expected));
  });

  it("gives another key for another AAD", () => {
    const first = hdCipher(sessionWithNode(), { input: PLAINTEXT, aad: AAD }, true);
    const other = hdCipher(sessionWithNode(), { input: PLAINTEXT, aad: new TextEncoder().encode("testE0D1") }, true);
    expect(toHex(first)).not.toBe(toHex(other));
  });

  it("consumes the node", () => {
    const session = sessionWithNode();
    hdCipher(session, { input: PLAINTEXT, aad: AAD }, true);
    expect(session.hdNode).toBeUndefined();
    expect(swOf(() => hdCipher(session, { input: PLAINTEXT, aad: AAD }, true))).toBe("6A80");
  });

  it("rejects a missing or curve node with 6A80", () => {
    expect(swOf(() => hdCipher(new SessionState(), { input: PLAINTEXT }, true))).toBe("6A80");
    const session = new SessionState();
    loadPendingNode(session, { type: HD_TYPE.SECP256K1, privateKey: new Uint8Array(32).fill(1) });
    expect(swOf(() => hdCipher(session, { input: PLAINTEXT }, true))).toBe("6A80");
  });

  it("rejects data that is not whole blocks with 6400 and wipes the node", () => {
    const session = sessionWithNode();
    expect(swOf(() => hdCipher(session, { input: new Uint8Array(17), aad: AAD }, true))).toBe("6400");
    expect(session.hdNode).toBeUndefined();
  });

  it("rejects an IV that is not 16 bytes with 6700", () => {
    expect(swOf(() => hdCipher(sessionWithNode(), { input: PLAINTEXT, iv: new Uint8Array(8) }, true))).toBe("6700");
  });

  it("is wiped by a session reset", () => {
    const session = sessionWithNode();
    const node = session.hdNode!;
    session.reset();
    expect(session.hdNode).toBeUndefined();
    expect(node.type === HD_TYPE.SYMMETRIC && node.key.every((byte) => byte === 0)).toBe(true);
  });
});
