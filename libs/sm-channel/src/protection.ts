/**
 * The cryptographic steps shared by protected commands and responses:
 * SSC encoding, the IV, AES-128-CBC of the data and the truncated AES-128-CMAC.
 */
import { cbc, cmac, ecb } from "@noble/ciphers/aes.js";
import { concatBytes } from "@hsmkit/tlv";
import { BLOCK_SIZE, pad, unpad } from "./padding.ts";
import { MAC_LENGTH, type SessionKeys } from "./session-keys.ts";

/** Largest value of the 16-byte send sequence counter (SSC). */
export const MAX_SSC = (1n << 128n) - 1n;

/** Returns the SSC as 16 bytes, big-endian. */
export function encodeSsc(ssc: bigint): Uint8Array {
  const out = new Uint8Array(BLOCK_SIZE);
  let rest = ssc;
  for (let i = BLOCK_SIZE - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Returns the IV of one message: AES-128-ECB(K_enc, SSC). */
function ivOf(keys: SessionKeys, ssc: bigint): Uint8Array {
  return ecb(keys.kEnc, { disablePadding: true }).encrypt(encodeSsc(ssc));
}

/** Encrypts `data ‖ 80 00…` with AES-128-CBC under K_enc and IV = AES-128-ECB(K_enc, SSC). */
export function encryptData(keys: SessionKeys, ssc: bigint, data: Uint8Array): Uint8Array {
  return cbc(keys.kEnc, ivOf(keys, ssc), { disablePadding: true }).encrypt(pad(data));
}

/**
 * Decrypts AES-128-CBC ciphertext and removes the ISO padding. Returns undefined
 * when the length is not a non-zero multiple of 16 or the padding is missing.
 */
export function decryptData(keys: SessionKeys, ssc: bigint, ciphertext: Uint8Array): Uint8Array | undefined {
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_SIZE !== 0) return undefined;
  const padded = cbc(keys.kEnc, ivOf(keys, ssc), { disablePadding: true }).decrypt(ciphertext);
  const data = unpad(padded);
  padded.fill(0);
  return data;
}

/**
 * Returns AES-128-CMAC(K_mac, SSC ‖ header ‖ objects ‖ padding)[0..7]. `header`
 * is the padded command header block, or empty. The ISO padding follows the
 * objects only when there is at least one object, as the SmartCard-HSM does.
 */
export function macOf(keys: SessionKeys, ssc: bigint, header: Uint8Array, objects: readonly Uint8Array[]): Uint8Array {
  const body = concatBytes(...objects);
  const input = concatBytes(encodeSsc(ssc), header, body.length > 0 ? pad(body) : body);
  return cmac(input, keys.kMac).slice(0, MAC_LENGTH);
}

/** Returns the padded header block CLA INS P1 P2 80 00…00 that protected commands MAC. */
export function headerBlock(cla: number, ins: number, p1: number, p2: number): Uint8Array {
  return pad(Uint8Array.of(cla, ins, p1, p2));
}

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
