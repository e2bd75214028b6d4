// Rejections of the derivation APIs: seeds, indices, depth, hardened children of public nodes.
import { describe, expect, it } from "vitest";
import { Bip32Node, HdKeyError, type HdKeyErrorCode, Slip10Node, Slip21Node } from "../src/index.ts";

const SEED = Uint8Array.from({ length: 16 }, (_, i) => i);

function expectHdError(run: () => unknown, code: HdKeyErrorCode, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(HdKeyError);
  expect((caught as HdKeyError).code).toBe(code);
  expect((caught as HdKeyError).message).toMatch(message);
}

describe("seed size", () => {
  const factories: [string, (seed: Uint8Array) => unknown][] = [
    ["BIP32", (seed) => Bip32Node.fromMasterSeed(seed)],
    ["SLIP-10 nist256p1", (seed) => Slip10Node.fromMasterSeed("nist256p1", seed)],
    ["SLIP-10 ed25519", (seed) => Slip10Node.fromMasterSeed("ed25519", seed)],
    ["SLIP-21", (seed) => Slip21Node.fromMasterSeed(seed)],
  ];

  for (const [name, create] of factories) {
    it(`${name} rejects 15 and 65 bytes`, () => {
      expectHdError(() => create(new Uint8Array(15)), "invalid-seed", /invalid seed length: 15 bytes; .* 16 to 64 bytes/);
      expectHdError(() => create(new Uint8Array(65)), "invalid-seed", /invalid seed length: 65 bytes/);
      expectHdError(() => create(new Uint8Array(0)), "invalid-seed", /invalid seed length: 0 bytes/);
    });

    it(`${name} accepts 16 and 64 bytes`, () => {
      expect(() => create(new Uint8Array(16))).not.toThrow();
      expect(() => create(new Uint8Array(64))).not.toThrow();
    });
  }
});

describe("hardened child of a public node", () => {
  it("is rejected by BIP32", () => {
    const xpub = Bip32Node.fromMasterSeed(SEED).publicNode();
    expectHdError(() => xpub.deriveChild(0x80000005), "hardened-from-public", /hardened child 5' needs the parent's private key/);
    expectHdError(() => xpub.derive("m/0/1'"), "hardened-from-public", /hardened child 1'/);
  });

  it("is rejected by SLIP-10", () => {
    const node = Slip10Node.fromMasterSeed("secp256k1", SEED).publicNode();
    expectHdError(() => node.derive("m/7h"), "hardened-from-public", /hardened child 7' needs the parent's private key/);
  });
});

describe("ed25519", () => {
  it("rejects a non-hardened child", () => {
    const node = Slip10Node.fromMasterSeed("ed25519", SEED);
    expectHdError(() => node.derive("m/0'/3"), "non-hardened-unsupported", /ed25519 child 3 is not hardened/);
  });
});

describe("index overflow", () => {
  it.each([-1, 2 ** 32, 1.5, Number.NaN])("rejects child number %s", (index) => {
    expectHdError(() => Bip32Node.fromMasterSeed(SEED).deriveChild(index), "index-out-of-range", /is not an integer in 0..4294967295/);
    expectHdError(() => Slip10Node.fromMasterSeed("nist256p1", SEED).deriveChild(index), "index-out-of-range", /is not an integer/);
  });

  it("names the path element", () => {
    expectHdError(() => Slip10Node.fromMasterSeed("secp256k1", SEED).derive([1, 2 ** 32]), "index-out-of-range", /path element 2: child number 4294967296/);
  });
});

describe("depth", () => {
  it("stops at 255 levels", () => {
    const deepest = Slip10Node.fromMasterSeed("nist256p1", SEED).derive(new Array(255).fill(0));
    expect(deepest.depth).toBe(255);
    expectHdError(() => deepest.deriveChild(0), "path-too-deep", /cannot derive below depth 255/);
  });

  it("counts the node's own depth against a path", () => {
    const node = Bip32Node.fromMasterSeed(SEED).derive("m/0/1");
    expectHdError(() => node.derive("m" + "/0".repeat(254)), "path-too-deep", /254 levels below the master; at most 253/);
  });
});

describe("extended keys", () => {
  it("rejects an xprv export of a public node", () => {
    expectHdError(() => Bip32Node.fromMasterSeed(SEED).publicNode().xprv, "invalid-key", /public: it has no extended private key/);
  });

  it("rejects text that is not Base58Check", () => {
    expectHdError(() => Bip32Node.fromExtendedKey("xpub0OIl"), "invalid-extended-key", /not Base58Check/);
  });
});
