/**
 * SLIP-10: BIP32-style derivation on secp256k1, NIST P-256 ("nist256p1") and
 * ed25519.
 *
 * Master: I = HMAC-SHA512(key = curve seed string, data = S); key = I_L, chain
 * code = I_R; on a Weierstrass curve an I_L of 0 or ≥ n is replaced by
 * HMAC-SHA512(key, I) until it is valid.
 *
 * Private child i of (k, c): I = HMAC-SHA512(c, 00 ‖ ser256(k) ‖ ser32(i)) when
 * hardened, HMAC-SHA512(c, serP(k·G) ‖ ser32(i)) otherwise; child = (I_L + k mod n, I_R).
 * When I_L ≥ n or the child key is 0, the step is repeated with data
 * 01 ‖ I_R ‖ ser32(i). BIP32 proper skips to the next index instead (see bip32.ts).
 * On ed25519 only hardened children exist and the child key is I_L itself.
 *
 * Public child i of (K, c), Weierstrass curves only and non-hardened i:
 * K' = point(I_L) + K with the same retry rule.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE, numberToBytesBE } from "@noble/curves/utils.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { fingerprintOf, hex, ser32 } from "./bytes.ts";
import { HdKeyError } from "./errors.ts";
import { checkIndex, HARDENED_OFFSET, isHardened, MAX_DEPTH, toIndices } from "./path.ts";
import { checkSeed } from "./seed.ts";

/** Curves of SLIP-10, by the names SLIP-10 uses. */
export type Slip10Curve = "secp256k1" | "nist256p1" | "ed25519";

export const SLIP10_CURVES: readonly Slip10Curve[] = ["secp256k1", "nist256p1", "ed25519"];

/** HMAC key of the master-key step, per curve. */
const MASTER_HMAC_KEY: Record<Slip10Curve, Uint8Array> = {
  secp256k1: new TextEncoder().encode("Bitcoin seed"),
  nist256p1: new TextEncoder().encode("Nist256p1 seed"),
  ed25519: new TextEncoder().encode("ed25519 seed"),
};

type WeierstrassCurve = typeof secp256k1 | typeof p256;

function weierstrass(curve: Slip10Curve): WeierstrassCurve | undefined {
  if (curve === "secp256k1") return secp256k1;
  if (curve === "nist256p1") return p256;
  return undefined;
}

interface NodeFields {
  curve: Slip10Curve;
  depth: number;
  index: number;
  parentFingerprint: number;
  chainCode: Uint8Array;
  privateKey?: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * One node of a SLIP-10 tree. A private node has the 32-byte private key, and a
 * public node (from publicNode()) only the public key and chain code.
 * `publicKey` is 33 bytes: the compressed SEC1 point on secp256k1 and
 * nist256p1, 00 ‖ the 32-byte key on ed25519 (the form SLIP-10 hashes for
 * fingerprints).
 */
export class Slip10Node {
  readonly curve: Slip10Curve;
  /** Levels below the master. */
  readonly depth: number;
  /** Child number of this node (hardened ones ≥ 2^31); 0 for the master. */
  readonly index: number;
  /** First 4 bytes of HASH160 of the parent's public key, as a u32; 0 for the master. */
  readonly parentFingerprint: number;
  #chainCode: Uint8Array;
  #privateKey: Uint8Array | undefined;
  #publicKey: Uint8Array;

  private constructor(fields: NodeFields) {
    this.curve = fields.curve;
    this.depth = fields.depth;
    this.index = fields.index;
    this.parentFingerprint = fields.parentFingerprint;
    this.#chainCode = fields.chainCode;
    this.#privateKey = fields.privateKey;
    this.#publicKey = fields.publicKey;
  }

  /** Derives the master node of `curve` from a 16..64-byte seed (HdKeyError "invalid-seed" otherwise). */
  static fromMasterSeed(curve: Slip10Curve, seed: Uint8Array): Slip10Node {
    checkCurve(curve);
    checkSeed(seed);

    const key = MASTER_HMAC_KEY[curve];
    let I = hmac(sha512, key, seed);
    const ec = weierstrass(curve);
    while (ec && !isValidScalar(ec, I.subarray(0, 32))) I = hmac(sha512, key, I);

    return Slip10Node.fromMasterKey(curve, I.slice(0, 32), I.slice(32));
  }

  /**
   * Returns the master node with private key `privateKey` and chain code
   * `chainCode` (both 32 bytes), as stored by a device that keeps only these.
   */
  static fromMasterKey(curve: Slip10Curve, privateKey: Uint8Array, chainCode: Uint8Array): Slip10Node {
    checkCurve(curve);
    checkLength(chainCode, 32, "chain code");
    checkLength(privateKey, 32, "private key");
    const ec = weierstrass(curve);
    if (ec && !isValidScalar(ec, privateKey)) throw new HdKeyError("invalid-key", `private key is not in 1..n-1 for ${curve}`);

    return new Slip10Node({
      curve,
      depth: 0,
      index: 0,
      parentFingerprint: 0,
      chainCode: chainCode.slice(),
      privateKey: privateKey.slice(),
      publicKey: publicKeyOf(curve, privateKey),
    });
  }

  /**
   * Returns a public node with the given fields (secp256k1 or nist256p1 only;
   * ed25519 has no public derivation). `publicKey` is a 33-byte compressed point.
   */
  static fromPublicKey(
    curve: Exclude<Slip10Curve, "ed25519">,
    publicKey: Uint8Array,
    chainCode: Uint8Array,
    position: { depth?: number; index?: number; parentFingerprint?: number } = {},
  ): Slip10Node {
    const ec = weierstrass(curve);
    if (!ec) throw new HdKeyError("non-hardened-unsupported", `${curve} has no public derivation, so a public node is of no use`);
    checkLength(chainCode, 32, "chain code");
    checkLength(publicKey, 33, "compressed public key");
    try {
      ec.Point.fromBytes(publicKey);
    } catch {
      throw new HdKeyError("invalid-key", `public key ${hex(publicKey)} is not a point on ${curve}`);
    }

    return new Slip10Node({
      curve,
      depth: position.depth ?? 0,
      index: position.index ?? 0,
      parentFingerprint: position.parentFingerprint ?? 0,
      chainCode: chainCode.slice(),
      publicKey: publicKey.slice(),
    });
  }

  /** 32-byte chain code (a copy). */
  get chainCode(): Uint8Array {
    return this.#chainCode.slice();
  }

  /** 32-byte private key (a copy), or undefined on a public node. */
  get privateKey(): Uint8Array | undefined {
    return this.#privateKey?.slice();
  }

  /** 33-byte public key (a copy); see the class comment for its form. */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /** First 4 bytes of HASH160(publicKey) as a u32: the parentFingerprint of this node's children. */
  get fingerprint(): number {
    return fingerprintOf(this.#publicKey);
  }

  /** Returns this node without its private key. */
  publicNode(): Slip10Node {
    return new Slip10Node({ ...this.#fields(), privateKey: undefined });
  }

  /**
   * Derives child `index` (0..2^32-1, hardened ≥ 2^31). Throws HdKeyError
   * "hardened-from-public" for a hardened child of a public node,
   * "non-hardened-unsupported" for a non-hardened ed25519 child and
   * "path-too-deep" below depth 255.
   */
  deriveChild(index: number): Slip10Node {
    checkIndex(index);
    if (this.depth >= MAX_DEPTH) throw new HdKeyError("path-too-deep", `cannot derive below depth ${MAX_DEPTH}: the depth is a one-byte field`);
    if (this.curve === "ed25519" && !isHardened(index)) {
      throw new HdKeyError("non-hardened-unsupported", `ed25519 child ${index} is not hardened; SLIP-10 defines only hardened ed25519 children (${index}' = ${index + HARDENED_OFFSET})`);
    }
    if (!this.#privateKey && isHardened(index)) {
      throw new HdKeyError("hardened-from-public", `hardened child ${index - HARDENED_OFFSET}' needs the parent's private key; this node is public`);
    }

    const child = this.#privateKey ? this.#privateChild(this.#privateKey, index) : this.#publicChild(index);
    return new Slip10Node({ ...child, curve: this.curve, depth: this.depth + 1, index, parentFingerprint: this.fingerprint });
  }

  /** Derives the node at `path` below this one: "m/0'/1" or child numbers. */
  derive(path: string | readonly number[]): Slip10Node {
    const indices = toIndices(path, MAX_DEPTH - this.depth);
    let node: Slip10Node = this;
    for (const index of indices) node = node.deriveChild(index);
    return node;
  }

  /** Overwrites the private key and chain code held by this object. */
  wipe(): void {
    this.#privateKey?.fill(0);
    this.#privateKey = undefined;
    this.#chainCode.fill(0);
  }

  #fields(): NodeFields {
    return {
      curve: this.curve,
      depth: this.depth,
      index: this.index,
      parentFingerprint: this.parentFingerprint,
      chainCode: this.#chainCode.slice(),
      privateKey: this.#privateKey?.slice(),
      publicKey: this.#publicKey.slice(),
    };
  }

  #privateChild(parentKey: Uint8Array, index: number): { chainCode: Uint8Array; privateKey: Uint8Array; publicKey: Uint8Array } {
    const data = isHardened(index) ? concatBytes(Uint8Array.of(0), parentKey, ser32(index)) : concatBytes(this.#publicKey, ser32(index));
    let I = hmac(sha512, this.#chainCode, data);

    const ec = weierstrass(this.curve);
    if (!ec) {
      const privateKey = I.slice(0, 32);
      return { chainCode: I.slice(32), privateKey, publicKey: publicKeyOf(this.curve, privateKey) };
    }

    const n = ec.Point.Fn.ORDER;
    const k = bytesToNumberBE(parentKey);
    for (;;) {
      const tweak = bytesToNumberBE(I.subarray(0, 32));
      const childKey = (tweak + k) % n;
      if (tweak < n && childKey !== 0n) {
        const privateKey = numberToBytesBE(childKey, 32);
        return { chainCode: I.slice(32), privateKey, publicKey: ec.getPublicKey(privateKey, true) };
      }
      I = hmac(sha512, this.#chainCode, concatBytes(Uint8Array.of(1), I.subarray(32), ser32(index)));
    }
  }

  #publicChild(index: number): { chainCode: Uint8Array; publicKey: Uint8Array } {
    const ec = weierstrass(this.curve)!;
    const n = ec.Point.Fn.ORDER;
    const parent = ec.Point.fromBytes(this.#publicKey);
    let I = hmac(sha512, this.#chainCode, concatBytes(this.#publicKey, ser32(index)));

    for (;;) {
      const tweak = bytesToNumberBE(I.subarray(0, 32));
      if (tweak < n) {
        const child = tweak === 0n ? parent : parent.add(ec.Point.BASE.multiply(tweak));
        if (!child.equals(ec.Point.ZERO)) return { chainCode: I.slice(32), publicKey: child.toBytes(true) };
      }
      I = hmac(sha512, this.#chainCode, concatBytes(Uint8Array.of(1), I.subarray(32), ser32(index)));
    }
  }
}

function checkCurve(curve: Slip10Curve): void {
  if (!SLIP10_CURVES.includes(curve)) {
    throw new HdKeyError("invalid-key", `unknown SLIP-10 curve ${JSON.stringify(curve)}; expected one of ${SLIP10_CURVES.join(", ")}`);
  }
}

function checkLength(bytes: Uint8Array, length: number, name: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new HdKeyError("invalid-key", `${name} must be ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
}

function isValidScalar(ec: WeierstrassCurve, bytes: Uint8Array): boolean {
  const value = bytesToNumberBE(bytes);
  return value !== 0n && value < ec.Point.Fn.ORDER;
}

function publicKeyOf(curve: Slip10Curve, privateKey: Uint8Array): Uint8Array {
  const ec = weierstrass(curve);
  if (ec) return ec.getPublicKey(privateKey, true);
  return concatBytes(Uint8Array.of(0), ed25519.getPublicKey(privateKey));
}
