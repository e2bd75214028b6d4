/**
 * Public description of a stored key (type, size, public key) and its
 * metadata tags 90–93, with the JSON form kept in the keystore's public
 * record `keyinfo/NN`.
 */
import { concatBytes, encodeTlv, fromHex, toHex } from "@hsmkit/tlv";

export type KeyType = "rsa" | "ec" | "aes";

/**
 * Key metadata set at creation (GENERATE KEY PAIR / GENERATE SYMMETRIC KEY data,
 * UNWRAP). Only the counter changes afterwards.
 */
export interface KeyMetadata {
  /** Tag 90: uses left (u32). Undefined means unlimited; 0 blocks every use (6A84). */
  counter?: number;
  /** Tag 91: allowed algorithm identifier bytes (P2 values). Undefined allows every algorithm. */
  algorithms?: Uint8Array;
  /** Tag 92: key domain whose DKEK wraps this key. Undefined means domain 0. */
  domain?: number;
  /** Tag 93: stored, never interpreted. */
  opaque?: Uint8Array;
}

export interface KeyInfo {
  /** Key id 0..255 (P1 of key commands, the n of CC n). */
  id: number;
  type: KeyType;
  /** EC curve name as the crypto module spells it (e.g. "secp256r1", "ed25519"); EC keys only. */
  curve?: string;
  /**
   * RSA: modulus bits; EC: 8 × private-scalar bytes (256, 384, 528 for secp521r1);
   * AES: 8 × key bytes (512 for an XTS key pair).
   */
  bits: number;
  /** EC: the public point (04‖x‖y, or the raw encoding for 25519/448 curves); RSA: the modulus n. */
  publicKey?: Uint8Array;
  /** RSA public exponent e, big-endian. */
  publicExponent?: Uint8Array;
  meta: KeyMetadata;
}

interface KeyInfoJson {
  id: number;
  type: KeyType;
  curve?: string;
  bits: number;
  publicKey?: string;
  publicExponent?: string;
  meta: { counter?: number; algorithms?: string; domain?: number; opaque?: string };
}

export function serializeKeyInfo(info: KeyInfo): Uint8Array {
  const json: KeyInfoJson = {
    id: info.id,
    type: info.type,
    curve: info.curve,
    bits: info.bits,
    publicKey: info.publicKey && toHex(info.publicKey),
    publicExponent: info.publicExponent && toHex(info.publicExponent),
    meta: {
      counter: info.meta.counter,
      algorithms: info.meta.algorithms && toHex(info.meta.algorithms),
      domain: info.meta.domain,
      opaque: info.meta.opaque && toHex(info.meta.opaque),
    },
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

export function parseKeyInfo(bytes: Uint8Array): KeyInfo {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as KeyInfoJson;
  return {
    id: json.id,
    type: json.type,
    curve: json.curve,
    bits: json.bits,
    publicKey: json.publicKey === undefined ? undefined : fromHex(json.publicKey),
    publicExponent: json.publicExponent === undefined ? undefined : fromHex(json.publicExponent),
    meta: {
      counter: json.meta.counter,
      algorithms: json.meta.algorithms === undefined ? undefined : fromHex(json.meta.algorithms),
      domain: json.meta.domain,
      opaque: json.meta.opaque === undefined ? undefined : fromHex(json.meta.opaque),
    },
  };
}

/**
 * Returns the bytes bound as AEAD associated data to the sealed private key:
 * everything about the key that never changes, so a sealed record paired with
 * another key's description fails to open. The usage counter's value is not
 * bound because it changes on every use, but whether the key has one is.
 */
export function keyBinding(info: KeyInfo): Uint8Array {
  const parts = [
    "hsmkit-key-v1",
    String(info.id),
    info.type,
    info.curve ?? "",
    String(info.bits),
    info.publicKey ? toHex(info.publicKey) : "",
    info.publicExponent ? toHex(info.publicExponent) : "",
  ];
  // A key with a usage counter seals under another binding, so stripping tag 90
  // from the public record leaves a key that no longer opens.
  if (info.meta.counter !== undefined) parts.push("counted");
  return new TextEncoder().encode(parts.join("|"));
}

/** Encodes the metadata as the TLVs 90, 91, 92, 93 (in that order, absent ones left out). */
export function encodeKeyMetadata(meta: KeyMetadata): Uint8Array {
  const parts: Uint8Array[] = [];

  if (meta.counter !== undefined) {
    const counter = new Uint8Array(4);
    new DataView(counter.buffer).setUint32(0, meta.counter >>> 0);
    parts.push(encodeTlv(0x90, counter));
  }
  if (meta.algorithms !== undefined) parts.push(encodeTlv(0x91, meta.algorithms));
  if (meta.domain !== undefined) parts.push(encodeTlv(0x92, new Uint8Array([meta.domain & 0xff])));
  if (meta.opaque !== undefined) parts.push(encodeTlv(0x93, meta.opaque));

  return concatBytes(...parts);
}
