/**
 * SLIP-21: hierarchical derivation of symmetric keys.
 *
 * A node is 64 bytes N. Master: N = HMAC-SHA512(key = "Symmetric key seed",
 * msg = S). Child with label L: N' = HMAC-SHA512(key = N[0..32], msg = 00 ‖ L).
 * The node's key is N[32..64]; N[0..32] only derives children, so knowing a
 * node's key reveals nothing about its children.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { HdKeyError } from "./errors.ts";
import { checkSeed } from "./seed.ts";

const MASTER_HMAC_KEY = new TextEncoder().encode("Symmetric key seed");

export class Slip21Node {
  #data: Uint8Array;

  private constructor(data: Uint8Array) {
    this.#data = data;
  }

  /** Derives the master node from a 16..64-byte master secret (HdKeyError "invalid-seed" otherwise). */
  static fromMasterSeed(seed: Uint8Array): Slip21Node {
    checkSeed(seed);
    return new Slip21Node(hmac(sha512, MASTER_HMAC_KEY, seed));
  }

  /** Returns the node whose 64 bytes are `data` (derivation key ‖ key), as a device stores it. */
  static fromNodeData(data: Uint8Array): Slip21Node {
    if (!(data instanceof Uint8Array) || data.length !== 64) {
      throw new HdKeyError("invalid-key", `SLIP-21 node data must be 64 bytes, got ${data instanceof Uint8Array ? data.length : typeof data}`);
    }
    return new Slip21Node(data.slice());
  }

  /** The node's 32-byte symmetric key, N[32..64] (a copy). */
  get key(): Uint8Array {
    return this.#data.slice(32);
  }

  /** The 32-byte key that derives children, N[0..32] (a copy). */
  get derivationKey(): Uint8Array {
    return this.#data.slice(0, 32);
  }

  /** All 64 bytes of the node (a copy). */
  get data(): Uint8Array {
    return this.#data.slice();
  }

  /** Derives the child with `label` (bytes, or a string taken as UTF-8). */
  deriveChild(label: Uint8Array | string): Slip21Node {
    const bytes = typeof label === "string" ? new TextEncoder().encode(label) : label;
    if (!(bytes instanceof Uint8Array)) throw new HdKeyError("invalid-path", "SLIP-21 label must be a string or a Uint8Array");
    return new Slip21Node(hmac(sha512, this.#data.subarray(0, 32), concatBytes(Uint8Array.of(0), bytes)));
  }

  /** Derives the node at `labels` below this one, e.g. ["SLIP-0021", "Master encryption key"]. */
  derive(labels: readonly (Uint8Array | string)[]): Slip21Node {
    let node: Slip21Node = this;
    for (const label of labels) node = node.deriveChild(label);
    return node;
  }

  /** Overwrites the node data held by this object. */
  wipe(): void {
    this.#data.fill(0);
  }
}
