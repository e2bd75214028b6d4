// SLIP-0010 test vectors for secp256k1, nist256p1 and ed25519 (test/vectors/slip10.json).
import { describe, expect, it } from "vitest";
import { Bip32Node, isHardened, parsePath, Slip10Node, type Slip10Curve } from "../src/index.ts";
import { fromHex, hex32, SLIP10_VECTORS, toHex } from "./vectors.ts";

describe("SLIP-10 vectors", () => {
  it("cover all three curves", () => {
    expect(new Set(SLIP10_VECTORS.vectors.map((vector) => vector.curve))).toEqual(new Set(["secp256k1", "nist256p1", "ed25519"]));
  });

  for (const vector of SLIP10_VECTORS.vectors) {
    describe(vector.name, () => {
      const curve = vector.curve as Slip10Curve;
      const master = Slip10Node.fromMasterSeed(curve, fromHex(vector.seed));

      for (const chain of vector.chains) {
        it(`derives ${chain.path}`, () => {
          const node = master.derive(chain.path);
          expect(hex32(node.parentFingerprint)).toBe(chain.fingerprint);
          expect(toHex(node.chainCode)).toBe(chain.chainCode);
          expect(toHex(node.privateKey!)).toBe(chain.privateKey);
          expect(toHex(node.publicKey)).toBe(chain.publicKey);
        });
      }

      if (curve !== "ed25519") {
        it("derives non-hardened children from the public parent", () => {
          for (const chain of vector.chains) {
            const indices = parsePath(chain.path);
            if (indices.length === 0 || isHardened(indices[indices.length - 1])) continue;
            const parent = master.derive(indices.slice(0, -1)).publicNode();
            const child = parent.deriveChild(indices[indices.length - 1]);
            expect(toHex(child.publicKey)).toBe(chain.publicKey);
            expect(toHex(child.chainCode)).toBe(chain.chainCode);
            expect(child.privateKey).toBeUndefined();
          }
        });
      }
    });
  }

  it("rebuilds a master from its stored key and chain code", () => {
    const vector = SLIP10_VECTORS.vectors.find((v) => v.name === "Test derivation retry for nist256p1")!;
    const [m, , last] = vector.chains;
    const master = Slip10Node.fromMasterKey("nist256p1", fromHex(m.privateKey), fromHex(m.chainCode));
    expect(toHex(master.derive(last.path).publicKey)).toBe(last.publicKey);
  });

  it("matches BIP32 on secp256k1 for the BIP32 seeds", () => {
    for (const vector of SLIP10_VECTORS.vectors.filter((v) => v.curve === "secp256k1")) {
      const bip32 = Bip32Node.fromMasterSeed(fromHex(vector.seed));
      const slip10 = Slip10Node.fromMasterSeed("secp256k1", fromHex(vector.seed));
      for (const chain of vector.chains) {
        expect(toHex(bip32.derive(chain.path).publicKey)).toBe(toHex(slip10.derive(chain.path).publicKey));
      }
    }
  });
});
