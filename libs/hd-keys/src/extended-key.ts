/**
 * BIP32 extended-key serialization (78 bytes, then Base58Check: "xprv…"/"xpub…"):
 *
 *   version [4] ‖ depth [1] ‖ parent fingerprint [4] ‖ child number [4] ‖ chain code [32] ‖ key [33]
 *
 * The key is 00 ‖ ser256(k) in a private extended key and the compressed SEC1
 * point in a public one. Decoding checks every rule of BIP32's invalid-key test
 * vectors and names the field and the rule it breaks.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createBase58check } from "@scure/base";
import { hex, hex32, readU32, ser32 } from "./bytes.ts";
import { HdKeyError } from "./errors.ts";

/** Length of a serialized extended key without its checksum. */
export const EXTENDED_KEY_BYTES = 78;

/** Version bytes of one network: BIP32 fixes mainnet ("xprv"/"xpub") and testnet ("tprv"/"tpub"). */
export interface ExtendedKeyVersions {
  private: number;
  public: number;
}

export const MAINNET_VERSIONS: ExtendedKeyVersions = { private: 0x0488ade4, public: 0x0488b21e };
export const TESTNET_VERSIONS: ExtendedKeyVersions = { private: 0x04358394, public: 0x043587cf };

/** The fields of a serialized extended key. */
export interface ExtendedKeyFields {
  version: number;
  /** Levels below the master, 0..255. */
  depth: number;
  /** First 4 bytes of HASH160 of the parent's public key, as a u32; 0 for the master. */
  parentFingerprint: number;
  /** Child number of this node (hardened ones ≥ 2^31); 0 for the master. */
  index: number;
  chainCode: Uint8Array;
  /** 00 ‖ 32-byte private key, or a 33-byte compressed point. */
  key: Uint8Array;
}

/** A short Weierstrass curve description: enough to validate keys (noble's curve objects fit). */
export interface ValidationCurve {
  Point: { fromBytes(bytes: Uint8Array): unknown; Fn: { ORDER: bigint } };
}

const base58check = createBase58check(sha256);

/** Encodes `fields` as the 78-byte serialization (no checksum). */
export function encodeExtendedKeyBytes(fields: ExtendedKeyFields): Uint8Array {
  if (fields.chainCode.length !== 32) throw new HdKeyError("invalid-key", `chain code must be 32 bytes, got ${fields.chainCode.length}`);
  if (fields.key.length !== 33) throw new HdKeyError("invalid-key", `extended key material must be 33 bytes, got ${fields.key.length}`);
  if (!Number.isInteger(fields.depth) || fields.depth < 0 || fields.depth > 255) {
    throw new HdKeyError("path-too-deep", `depth ${fields.depth} does not fit the one-byte depth field (0..255)`);
  }

  const out = new Uint8Array(EXTENDED_KEY_BYTES);
  out.set(ser32(fields.version), 0);
  out[4] = fields.depth;
  out.set(ser32(fields.parentFingerprint), 5);
  out.set(ser32(fields.index), 9);
  out.set(fields.chainCode, 13);
  out.set(fields.key, 45);
  return out;
}

/**
 * Splits a 78-byte serialization into its fields and checks the rules that do
 * not depend on the curve: length, and a zero parent fingerprint and child
 * number at depth 0.
 */
export function decodeExtendedKeyBytes(bytes: Uint8Array): ExtendedKeyFields {
  if (bytes.length !== EXTENDED_KEY_BYTES) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: ${bytes.length} bytes, expected ${EXTENDED_KEY_BYTES}`);
  }

  const fields: ExtendedKeyFields = {
    version: readU32(bytes, 0),
    depth: bytes[4],
    parentFingerprint: readU32(bytes, 5),
    index: readU32(bytes, 9),
    chainCode: bytes.slice(13, 45),
    key: bytes.slice(45, 78),
  };

  if (fields.depth === 0 && fields.parentFingerprint !== 0) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: zero depth with non-zero parent fingerprint ${hex32(fields.parentFingerprint)}`);
  }
  if (fields.depth === 0 && fields.index !== 0) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: zero depth with non-zero child number ${fields.index}`);
  }
  return fields;
}

/** Encodes `fields` as Base58Check text ("xprv…", "xpub…"). */
export function encodeExtendedKey(fields: ExtendedKeyFields): string {
  return base58check.encode(encodeExtendedKeyBytes(fields));
}

/**
 * Decodes and validates Base58Check text: the checksum, the length, the
 * version (one of `networks`), the depth-0 rules, and the key: a private
 * version needs 00 ‖ k with 1 ≤ k < n, a public version a valid compressed
 * point on `curve` (secp256k1 by default). Throws HdKeyError "invalid-extended-key".
 */
export function decodeExtendedKey(
  text: string,
  networks: readonly ExtendedKeyVersions[] = [MAINNET_VERSIONS, TESTNET_VERSIONS],
  curve: ValidationCurve = secp256k1,
): ExtendedKeyFields & { isPrivate: boolean } {
  const fields = decodeExtendedKeyBytes(decodeBase58check(text));

  const isPrivate = networks.some((versions) => versions.private === fields.version);
  const isPublic = networks.some((versions) => versions.public === fields.version);
  if (!isPrivate && !isPublic) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: unknown version ${hex32(fields.version)}`);
  }

  if (isPrivate) checkPrivateKeyField(fields.key, curve);
  else checkPublicKeyField(fields.key, curve);
  return { ...fields, isPrivate };
}

function decodeBase58check(text: string): Uint8Array {
  if (typeof text !== "string") throw new HdKeyError("invalid-extended-key", "extended key must be a Base58Check string");
  try {
    return base58check.decode(text);
  } catch (error) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key ${abbreviate(text)}: not Base58Check or its checksum is wrong (${(error as Error).message})`);
  }
}

function checkPrivateKeyField(key: Uint8Array, curve: ValidationCurve): void {
  if (key[0] !== 0x00) {
    const fault = key[0] === 0x02 || key[0] === 0x03 ? "a public key under a private version" : `invalid private key prefix ${hex(key.subarray(0, 1))}`;
    throw new HdKeyError("invalid-extended-key", `invalid extended key: ${fault}; a private key is 00 ‖ 32 bytes`);
  }

  const k = bytesToNumberBE(key.subarray(1));
  if (k === 0n || k >= curve.Point.Fn.ORDER) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: private key ${k === 0n ? "0" : "≥ n"} is not in 1..n-1`);
  }
}

function checkPublicKeyField(key: Uint8Array, curve: ValidationCurve): void {
  if (key[0] === 0x00) {
    throw new HdKeyError("invalid-extended-key", "invalid extended key: a private key (prefix 00) under a public version");
  }
  if (key[0] !== 0x02 && key[0] !== 0x03) {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: invalid public key prefix ${hex(key.subarray(0, 1))}; expected 02 or 03 (compressed point)`);
  }
  try {
    curve.Point.fromBytes(key);
  } catch {
    throw new HdKeyError("invalid-extended-key", `invalid extended key: public key ${hex(key)} is not a point on the curve`);
  }
}

function abbreviate(text: string): string {
  return text.length <= 24 ? JSON.stringify(text) : JSON.stringify(`${text.slice(0, 12)}…${text.slice(-6)}`);
}
