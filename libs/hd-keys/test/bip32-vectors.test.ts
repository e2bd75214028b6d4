// BIP32 test vectors 1-5 (test/vectors/bip32.json, from bip-0032.mediawiki).
import { describe, expect, it } from "vitest";
import { Bip32Node, HdKeyError, isHardened, parsePath } from "../src/index.ts";
import { BIP32_VECTORS, fromHex } from "./vectors.ts";

describe("BIP32 valid vectors", () => {
  for (const vector of BIP32_VECTORS.valid) {
    describe(vector.name, () => {
      const master = Bip32Node.fromMasterSeed(fromHex(vector.seed));

      for (const chain of vector.chains) {
        it(`derives ${chain.path}`, () => {
          const node = master.derive(chain.path);
          expect(node.xprv).toBe(chain.xprv);
          expect(node.xpub).toBe(chain.xpub);
          expect(node.depth).toBe(parsePath(chain.path).length);
        });

        it(`round-trips ${chain.path} through xprv and xpub`, () => {
          expect(Bip32Node.fromExtendedKey(chain.xprv).xprv).toBe(chain.xprv);
          expect(Bip32Node.fromExtendedKey(chain.xprv).xpub).toBe(chain.xpub);
          expect(Bip32Node.fromExtendedKey(chain.xpub).xpub).toBe(chain.xpub);
          expect(Bip32Node.fromExtendedKey(chain.xpub).privateKey).toBeUndefined();
        });
      }

      it("derives non-hardened children from the parent xpub", () => {
        let checked = 0;
        for (let i = 1; i < vector.chains.length; i++) {
          const indices = parsePath(vector.chains[i].path);
          const last = indices[indices.length - 1];
          if (isHardened(last)) continue;
          const parent = Bip32Node.fromExtendedKey(vector.chains[i - 1].xpub);
          expect(parent.deriveChild(last).xpub).toBe(vector.chains[i].xpub);
          checked++;
        }
        if (vector.name === "Test vector 1") expect(checked).toBe(3);
      });
    });
  }
});

describe("BIP32 test vector 5", () => {
  it("lists 16 invalid extended keys", () => {
    expect(BIP32_VECTORS.invalid).toHaveLength(16);
  });

  for (const { key, reason } of BIP32_VECTORS.invalid) {
    it(`rejects: ${reason}`, () => {
      let caught: unknown;
      try {
        Bip32Node.fromExtendedKey(key);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(HdKeyError);
      expect((caught as HdKeyError).code).toBe("invalid-extended-key");
      expect((caught as HdKeyError).message).toMatch(expectedMessage(reason));
    });
  }
});

/** Returns the pattern our message must match for the rule that BIP32's `reason` names. */
function expectedMessage(reason: string): RegExp {
  if (reason.startsWith("pubkey version / prvkey mismatch")) return /private key \(prefix 00\) under a public version/;
  if (reason.startsWith("prvkey version / pubkey mismatch")) return /public key under a private version/;
  if (reason.startsWith("invalid pubkey prefix")) return new RegExp(`invalid public key prefix ${reason.slice(-2)}`);
  if (reason.startsWith("invalid prvkey prefix")) return new RegExp(`invalid private key prefix ${reason.slice(-2)}`);
  if (reason === "zero depth with non-zero parent fingerprint") return /zero depth with non-zero parent fingerprint/;
  if (reason === "zero depth with non-zero index") return /zero depth with non-zero child number/;
  if (reason === "unknown extended key version") return /unknown version/;
  if (reason === "private key 0 not in 1..n-1") return /private key 0 is not in 1..n-1/;
  if (reason === "private key n not in 1..n-1") return /private key ≥ n is not in 1..n-1/;
  if (reason.startsWith("invalid pubkey 02")) return new RegExp(`public key ${reason.split(" ")[2]} is not a point`);
  if (reason === "invalid checksum") return /checksum/;
  throw new Error(`no expectation for reason ${reason}`);
}
