/** Byte helpers shared by the derivation modules. */
import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** Returns `value` as 4 bytes, big-endian (BIP32's ser32). */
export function ser32(value: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

/** Reads 4 bytes big-endian at `offset`. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
}

/** RIPEMD-160(SHA-256(data)): the key identifier of BIP32. */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(sha256(data));
}

/** Returns the first 4 bytes of HASH160(`publicKey`) as a u32: a BIP32 key fingerprint. */
export function fingerprintOf(publicKey: Uint8Array): number {
  return readU32(hash160(publicKey), 0);
}

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

export function hex32(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}
