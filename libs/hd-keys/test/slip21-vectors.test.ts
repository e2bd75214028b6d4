// SLIP-0021 example keys (test/vectors/slip21.json).
import { describe, expect, it } from "vitest";
import { HdKeyError, Slip21Node } from "../src/index.ts";
import { fromHex, SLIP21_VECTORS, toHex } from "./vectors.ts";

describe("SLIP-21", () => {
  const master = Slip21Node.fromMasterSeed(fromHex(SLIP21_VECTORS.seed));

  for (const node of SLIP21_VECTORS.nodes) {
    it(`derives m/${node.labels.map((label) => JSON.stringify(label)).join("/")}`, () => {
      expect(toHex(master.derive(node.labels).key)).toBe(node.key);
    });
  }

  it("takes labels as bytes or UTF-8 text", () => {
    const bytes = new TextEncoder().encode("SLIP-0021");
    expect(toHex(master.deriveChild(bytes).key)).toBe(toHex(master.deriveChild("SLIP-0021").key));
  });

  it("rebuilds a node from its 64 bytes", () => {
    const child = master.deriveChild("SLIP-0021");
    const copy = Slip21Node.fromNodeData(child.data);
    expect(toHex(copy.deriveChild("Authentication key").key)).toBe(SLIP21_VECTORS.nodes[3].key);
    expect(toHex(copy.derivationKey)).toBe(toHex(child.data.subarray(0, 32)));
  });

  it("rejects node data that is not 64 bytes", () => {
    expect(() => Slip21Node.fromNodeData(new Uint8Array(63))).toThrow(HdKeyError);
    expect(() => Slip21Node.fromNodeData(new Uint8Array(63))).toThrow(/64 bytes, got 63/);
  });
});
