import { describe, expect, it } from "vitest";

import {
  combineDkekShares,
  createPasswordShares,
  decryptDkekShare,
  DkekShareError,
  encryptDkekShare,
  parseColonHex,
  recoverPassword,
} from "../src/index.ts";

const hex = (text: string) => Uint8Array.from(text.replace(/\s+/g, "").match(/../g)!.map((byte) => parseInt(byte, 16)));
const SHARE = Uint8Array.from({ length: 32 }, (_, i) => i);
const SALT = hex("0102030405060708");

/**
 * Share 00..1F under password "dkek-share-pw", salt 01..08, one iteration, made with
 * `openssl enc -aes-256-cbc -md md5 -S 0102030405060708 -pass pass:dkek-share-pw`
 * (OpenSSL 3.0, EVP_BytesToKey with count 1), behind the "Salted__" header.
 */
const OPENSSL_FILE = hex(
  "53616c7465645f5f 0102030405060708" +
    "36323a293724007334fdd05ed6efcdb060cb3b041d5f726a3ed188771f34a274a029ba26518f9b8c216f973474bfa10d",
);

/** 2^64 − 59, the largest 64-bit prime. */
const PRIME = 18446744073709551557n;

describe("DKEK share files", () => {
  it("match OpenSSL's EVP_BytesToKey encryption", () => {
    expect(encryptDkekShare(SHARE, "dkek-share-pw", SALT, { iterations: 1 })).toEqual(OPENSSL_FILE);
  });

  it("decrypt OpenSSL's file", () => {
    expect(decryptDkekShare(OPENSSL_FILE, "dkek-share-pw", { iterations: 1 })).toEqual(SHARE);
  });

  it("round trip with several iterations", () => {
    const file = encryptDkekShare(SHARE, "another password", SALT, { iterations: 50 });

    expect(decryptDkekShare(file, "another password", { iterations: 50 })).toEqual(SHARE);
  });

  it("reject a wrong password", () => {
    expect(() => decryptDkekShare(OPENSSL_FILE, "wrong password", { iterations: 1 })).toThrow(DkekShareError);
  });

  it("reject a file without the magic or of the wrong size", () => {
    const noMagic = OPENSSL_FILE.slice();
    noMagic[0] = 0x54;

    expect(() => decryptDkekShare(noMagic, "dkek-share-pw", { iterations: 1 })).toThrow(/Salted__/);
    expect(() => decryptDkekShare(OPENSSL_FILE.subarray(0, 63), "dkek-share-pw", { iterations: 1 })).toThrow(/64 bytes/);
  });
});

describe("DKEK assembly", () => {
  it("is the XOR of the shares, in any order", () => {
    const a = crypto.getRandomValues(new Uint8Array(32));
    const b = crypto.getRandomValues(new Uint8Array(32));
    const expected = a.map((byte, i) => byte ^ b[i]);

    expect(combineDkekShares([a, b])).toEqual(expected);
    expect(combineDkekShares([b, a])).toEqual(expected);
    expect(combineDkekShares([a])).toEqual(a);
  });
});

describe("password shares", () => {
  const password = hex("8F1E2D3C4B5A6978");

  it("recover the password from any 2 of 3", () => {
    const shares = createPasswordShares(password, 2, 3, PRIME);

    for (const pair of [[0, 1], [0, 2], [1, 2]]) {
      expect(recoverPassword(pair.map((i) => shares[i]), PRIME)).toEqual(password);
    }
  });

  it("recover the password from 3 of 5 and not from 2", () => {
    const shares = createPasswordShares(password, 3, 5, PRIME);

    expect(recoverPassword([shares[4], shares[1], shares[2]], PRIME)).toEqual(password);
    expect(recoverPassword([shares[0], shares[1]], PRIME)).not.toEqual(password);
  });

  it("parse sc-hsm-tool's colon hex", () => {
    expect(parseColonHex("00:FF:FF:FF:FF:FF:FF:FF:C5")).toBe(PRIME);
    expect(() => parseColonHex("zz")).toThrow(/invalid hex value/);
  });

  it("reject duplicate share ids and bad thresholds", () => {
    const shares = createPasswordShares(password, 2, 3, PRIME);

    expect(() => recoverPassword([shares[0], shares[0]], PRIME)).toThrow(/distinct/);
    expect(() => createPasswordShares(password, 1, 3, PRIME)).toThrow(/threshold/);
    expect(() => createPasswordShares(password, 3, 2, PRIME)).toThrow(/total/);
  });
});
