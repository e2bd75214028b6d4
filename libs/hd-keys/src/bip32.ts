/**
 * BIP32 on secp256k1, built on @scure/bip32: master key from a seed,
 * private and public child derivation, and xprv/xpub import and export.
 *
 * This wrapper adds strict path parsing, validation of imported extended keys
 * that names the broken rule, and HdKeyError for every rejection. It follows
 * BIP32 to the letter where SLIP-10 differs: an invalid child (I_L ≥ n or a
 * zero key, probability about 2^-127) moves on to the next index here, while
 * Slip10Node retries with 01 ‖ I_R.
 */
import { HDKey } from "@scure/bip32";
import { hex32 } from "./bytes.ts";
import { HdKeyError } from "./errors.ts";
import { decodeExtendedKey, MAINNET_VERSIONS, TESTNET_VERSIONS, type ExtendedKeyVersions } from "./extended-key.ts";
import { checkIndex, HARDENED_OFFSET, isHardened, MAX_DEPTH, toIndices } from "./path.ts";
import { checkSeed } from "./seed.ts";

export class Bip32Node {
  readonly #key: HDKey;

  private constructor(key: HDKey) {
    this.#key = key;
  }

  /** Derives the master node from a 16..64-byte seed; `versions` selects xprv/xpub (default) or tprv/tpub. */
  static fromMasterSeed(seed: Uint8Array, versions: ExtendedKeyVersions = MAINNET_VERSIONS): Bip32Node {
    checkSeed(seed);
    return new Bip32Node(HDKey.fromMasterSeed(seed, versions));
  }

  /**
   * Imports an extended key ("xprv…", "xpub…", "tprv…", "tpub…"). Throws
   * HdKeyError "invalid-extended-key" naming the rule it breaks: checksum,
   * length, version, depth 0 with a parent fingerprint or child number, key
   * prefix, private key outside 1..n-1, or a public key off the curve.
   */
  static fromExtendedKey(text: string): Bip32Node {
    const fields = decodeExtendedKey(text, [MAINNET_VERSIONS, TESTNET_VERSIONS]);
    const versions = [MAINNET_VERSIONS, TESTNET_VERSIONS].find((v) => v.private === fields.version || v.public === fields.version)!;
    try {
      return new Bip32Node(HDKey.fromExtendedKey(text, versions));
    } catch (error) {
      throw new HdKeyError("invalid-extended-key", `invalid extended key: ${(error as Error).message}`);
    }
  }

  /** Levels below the master. */
  get depth(): number {
    return this.#key.depth;
  }

  /** Child number of this node (hardened ones ≥ 2^31); 0 for the master. */
  get index(): number {
    return this.#key.index;
  }

  /** Fingerprint of the parent (first 4 bytes of its HASH160) as a u32; 0 for the master. */
  get parentFingerprint(): number {
    return this.#key.parentFingerprint;
  }

  /** First 4 bytes of HASH160 of this node's public key, as a u32. */
  get fingerprint(): number {
    return this.#key.fingerprint;
  }

  /** 32-byte chain code (a copy). */
  get chainCode(): Uint8Array {
    return this.#key.chainCode!.slice();
  }

  /** 33-byte compressed public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#key.publicKey!.slice();
  }

  /** 32-byte private key (a copy), or undefined on a public node. */
  get privateKey(): Uint8Array | undefined {
    return this.#key.privateKey?.slice() ?? undefined;
  }

  /** Base58Check extended private key ("xprv…"); HdKeyError "invalid-key" on a public node. */
  get xprv(): string {
    if (!this.#key.privateKey) throw new HdKeyError("invalid-key", "this node is public: it has no extended private key");
    return this.#key.privateExtendedKey;
  }

  /** Base58Check extended public key ("xpub…"). */
  get xpub(): string {
    return this.#key.publicExtendedKey;
  }

  /** Returns this node without its private key. */
  publicNode(): Bip32Node {
    return Bip32Node.fromExtendedKey(this.xpub);
  }

  /**
   * Derives child `index` (0..2^32-1, hardened ≥ 2^31). Throws HdKeyError
   * "hardened-from-public" for a hardened child of a public node and
   * "path-too-deep" below depth 255.
   */
  deriveChild(index: number): Bip32Node {
    checkIndex(index);
    if (this.depth >= MAX_DEPTH) throw new HdKeyError("path-too-deep", `cannot derive below depth ${MAX_DEPTH}: the depth is a one-byte field`);
    if (!this.#key.privateKey && isHardened(index)) {
      throw new HdKeyError("hardened-from-public", `hardened child ${index - HARDENED_OFFSET}' needs the parent's private key; node ${hex32(this.fingerprint)} is public`);
    }

    try {
      return new Bip32Node(this.#key.deriveChild(index));
    } catch (error) {
      throw new HdKeyError("invalid-key", `child ${index} of node ${hex32(this.fingerprint)} cannot be derived: ${(error as Error).message}`);
    }
  }

  /** Derives the node at `path` below this one: "m/44'/0'/0'/0/1" or child numbers. */
  derive(path: string | readonly number[]): Bip32Node {
    const indices = toIndices(path, MAX_DEPTH - this.depth);
    let node: Bip32Node = this;
    for (const index of indices) node = node.deriveChild(index);
    return node;
  }

  /** Overwrites the private key held by this object. */
  wipe(): void {
    this.#key.wipePrivateData();
  }
}
