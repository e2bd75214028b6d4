/**
 * AES modes of CIPHER SYMMETRIC and AES-CMAC, on @noble/ciphers. ECB, CBC, CFB-128, CTR, GCM
 * and CMAC are noble's own; OFB, CCM (SP 800-38C) and XTS (IEEE 1619) are assembled here from
 * noble's ECB, CBC and CTR, so every block operation is still noble's AES.
 *
 * The caller checks the input rules, because each maps to its own status word. The functions
 * here throw a RangeError for input they cannot process and AuthenticationError when a tag does
 * not match.
 */
import { cbc, cfb, cmac, ctr, ecb, gcm } from "@noble/ciphers/aes.js";

export const AES_BLOCK = 16;
/** Tag length of GCM and CCM as the card produces and expects them. */
export const AEAD_TAG_BYTES = 16;

/** A GCM, CCM or ChaCha20-Poly1305 tag that does not match the input. */
export class AuthenticationError extends Error {
  constructor(mode: string) {
    super(`${mode} tag mismatch`);
    this.name = "AuthenticationError";
  }
}

export type AesMode = "ecb" | "cbc" | "ofb" | "cfb" | "gcm" | "ccm" | "ctr";

export interface AesRequest {
  mode: AesMode;
  key: Uint8Array;
  /** IV, nonce or initial counter block; 16 bytes for the block modes. */
  iv: Uint8Array;
  /** Associated data of GCM and CCM. */
  aad?: Uint8Array;
  input: Uint8Array;
}

export function aesEncrypt(request: AesRequest): Uint8Array {
  const { mode, key, iv, aad, input } = request;
  switch (mode) {
    case "ecb":
      return ecb(key, { disablePadding: true }).encrypt(input);
    case "cbc":
      return cbc(key, iv, { disablePadding: true }).encrypt(input);
    case "ofb":
      return xorKeystream(input, ofbKeystream(key, iv, input.length));
    case "cfb":
      return cfb(key, iv).encrypt(input);
    case "ctr":
      return ctr(key, iv).encrypt(input);
    case "gcm":
      return gcm(key, iv, aad).encrypt(input);
    case "ccm":
      return aesCcmEncrypt(key, iv, aad ?? new Uint8Array(0), input);
  }
}

/** Inverse of {@link aesEncrypt}; GCM and CCM take ciphertext ‖ tag and throw AuthenticationError on a mismatch. */
export function aesDecrypt(request: AesRequest): Uint8Array {
  const { mode, key, iv, aad, input } = request;
  switch (mode) {
    case "ecb":
      return ecb(key, { disablePadding: true }).decrypt(input);
    case "cbc":
      return cbc(key, iv, { disablePadding: true }).decrypt(input);
    case "ofb":
      return xorKeystream(input, ofbKeystream(key, iv, input.length));
    case "cfb":
      return cfb(key, iv).decrypt(input);
    case "ctr":
      return ctr(key, iv).decrypt(input);
    case "gcm":
      try {
        return gcm(key, iv, aad).decrypt(input);
      } catch (error) {
        // The caller has checked the key, the nonce and the length: what is left is the tag.
        if (input.length >= AEAD_TAG_BYTES) throw new AuthenticationError("AES-GCM");
        throw error;
      }
    case "ccm":
      return aesCcmDecrypt(key, iv, aad ?? new Uint8Array(0), input);
  }
}

/** AES-CMAC (SP 800-38B) of `message`: 16 bytes. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return cmac(message, key);
}

// --- OFB ------------------------------------------------------------------

/**
 * OFB keystream: O1 = E(IV), Oi = E(Oi−1). CBC over zero blocks produces exactly that chain,
 * since each CBC output block is E(previous output ⊕ 0).
 */
function ofbKeystream(key: Uint8Array, iv: Uint8Array, length: number): Uint8Array {
  const blocks = Math.ceil(length / AES_BLOCK);
  return cbc(key, iv, { disablePadding: true }).encrypt(new Uint8Array(blocks * AES_BLOCK)).subarray(0, length);
}

function xorKeystream(input: Uint8Array, keystream: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i] ^ keystream[i];
  return out;
}

// --- CCM (SP 800-38C) -------------------------------------------------------

/** CCM encryption: ciphertext ‖ tag; the card always uses a 16-byte tag, other even lengths 4..16 serve the published examples. */
export function aesCcmEncrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagBytes = AEAD_TAG_BYTES): Uint8Array {
  const tag = ccmMac(key, nonce, aad, plaintext, tagBytes);
  const stream = ccmCounterStream(key, nonce, AES_BLOCK + plaintext.length);
  const out = new Uint8Array(plaintext.length + tagBytes);
  out.set(xorKeystream(plaintext, stream.subarray(AES_BLOCK)));
  out.set(xorKeystream(tag, stream.subarray(0, tagBytes)), plaintext.length);
  return out;
}

/** CCM decryption of ciphertext ‖ tag; throws AuthenticationError when the tag does not match. */
export function aesCcmDecrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, input: Uint8Array, tagBytes = AEAD_TAG_BYTES): Uint8Array {
  if (input.length < tagBytes) throw new RangeError(`AES-CCM input is shorter than its ${tagBytes}-byte tag`);
  const length = input.length - tagBytes;
  const stream = ccmCounterStream(key, nonce, AES_BLOCK + length);
  const plaintext = xorKeystream(input.subarray(0, length), stream.subarray(AES_BLOCK));
  const received = xorKeystream(input.subarray(length), stream.subarray(0, tagBytes));

  const expected = ccmMac(key, nonce, aad, plaintext, tagBytes);
  if (!constantTimeEqual(expected, received)) {
    plaintext.fill(0);
    throw new AuthenticationError("AES-CCM");
  }
  return plaintext;
}

/** Counter blocks Ctr0, Ctr1, … (flags q−1 ‖ nonce ‖ i) encrypted; Ctr0 masks the tag. */
function ccmCounterStream(key: Uint8Array, nonce: Uint8Array, length: number): Uint8Array {
  const counter = new Uint8Array(AES_BLOCK);
  counter[0] = 15 - nonce.length - 1;
  counter.set(nonce, 1);
  return ctr(key, counter).encrypt(new Uint8Array(length));
}

/** CBC-MAC over B0 ‖ encoded AAD ‖ payload, each part zero-padded to whole blocks, cut to `tagBytes`. */
function ccmMac(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, payload: Uint8Array, tagBytes: number): Uint8Array {
  const q = 15 - nonce.length;
  if (nonce.length < 7 || nonce.length > 13) throw new RangeError("AES-CCM nonce must be 7 to 13 bytes");
  if (tagBytes < 4 || tagBytes > 16 || tagBytes % 2 !== 0) throw new RangeError("AES-CCM tag must be 4, 6, …, 16 bytes");
  if (q < 4 && payload.length >= 2 ** (8 * q)) throw new RangeError(`AES-CCM payload too long for a ${nonce.length}-byte nonce`);

  const b0 = new Uint8Array(AES_BLOCK);
  b0[0] = (aad.length > 0 ? 0x40 : 0) | (((tagBytes - 2) / 2) << 3) | (q - 1);
  b0.set(nonce, 1);
  for (let i = 0, rest = payload.length; i < q; i++, rest = Math.floor(rest / 256)) b0[15 - i] = rest & 0xff;

  const parts = [b0, padToBlock(encodeCcmAad(aad)), padToBlock(payload)];
  const macInput = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    macInput.set(part, offset);
    offset += part.length;
  }

  const chain = cbc(key, new Uint8Array(AES_BLOCK), { disablePadding: true }).encrypt(macInput);
  return chain.slice(chain.length - AES_BLOCK, chain.length - AES_BLOCK + tagBytes);
}

/** AAD prefixed with its length: 2 bytes below 2^16 − 2^8, else FF FE and 4 bytes. */
function encodeCcmAad(aad: Uint8Array): Uint8Array {
  if (aad.length === 0) return aad;
  const header = aad.length < 0xff00 ? Uint8Array.of(aad.length >> 8, aad.length & 0xff) : Uint8Array.of(0xff, 0xfe, aad.length >>> 24, (aad.length >>> 16) & 0xff, (aad.length >>> 8) & 0xff, aad.length & 0xff);
  const out = new Uint8Array(header.length + aad.length);
  out.set(header);
  out.set(aad, header.length);
  return out;
}

function padToBlock(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / AES_BLOCK) * AES_BLOCK);
  padded.set(bytes);
  return padded;
}

// --- XTS (IEEE 1619-2007) ---------------------------------------------------

/**
 * AES-XTS of one data unit: `key` = Key1 ‖ Key2 (32 or 64 bytes), `tweak` 16 bytes, input of
 * at least 16 bytes; a partial last block uses ciphertext stealing.
 */
export function aesXts(key: Uint8Array, tweak: Uint8Array, input: Uint8Array, encrypt: boolean): Uint8Array {
  if (key.length !== 32 && key.length !== 64) throw new RangeError("AES-XTS key must be 32 or 64 bytes");
  if (tweak.length !== AES_BLOCK) throw new RangeError("AES-XTS tweak must be 16 bytes");
  if (input.length < AES_BLOCK) throw new RangeError("AES-XTS input must be at least 16 bytes");

  const half = key.length / 2;
  const dataKey = key.subarray(0, half);
  const blocks = Math.floor(input.length / AES_BLOCK);
  const partial = input.length % AES_BLOCK;
  const masks = xtsMasks(key.subarray(half), tweak, blocks + 1);

  // With stealing, the last full block is handled together with the partial one.
  const plain = partial === 0 ? blocks : blocks - 1;
  const out = new Uint8Array(input.length);
  out.set(xtsBlocks(dataKey, input.subarray(0, plain * AES_BLOCK), masks, 0, encrypt));
  if (partial === 0) return out;

  const lastFull = input.subarray(plain * AES_BLOCK, blocks * AES_BLOCK);
  const tail = input.subarray(blocks * AES_BLOCK);
  // Encryption uses mask m−1 then m; decryption reverses the order.
  const [first, second] = encrypt ? [plain, plain + 1] : [plain + 1, plain];
  const mixed = xtsBlocks(dataKey, lastFull, masks, first, encrypt);
  const stolen = new Uint8Array(AES_BLOCK);
  stolen.set(tail);
  stolen.set(mixed.subarray(partial), partial);
  out.set(xtsBlocks(dataKey, stolen, masks, second, encrypt), plain * AES_BLOCK);
  out.set(mixed.subarray(0, partial), blocks * AES_BLOCK);
  return out;
}

/** T0 = E_Key2(tweak), Tj = Tj−1 · α in GF(2^128) (little-endian bit order, reduction 0x87). */
function xtsMasks(tweakKey: Uint8Array, tweak: Uint8Array, count: number): Uint8Array {
  const masks = new Uint8Array(count * AES_BLOCK);
  masks.set(ecb(tweakKey, { disablePadding: true }).encrypt(tweak));
  for (let j = 1; j < count; j++) {
    const previous = (j - 1) * AES_BLOCK;
    const current = j * AES_BLOCK;
    let carry = 0;
    for (let i = 0; i < AES_BLOCK; i++) {
      const byte = masks[previous + i];
      masks[current + i] = ((byte << 1) | carry) & 0xff;
      carry = byte >> 7;
    }
    if (carry) masks[current] ^= 0x87;
  }
  return masks;
}

/** Cj = E_Key1(Pj ⊕ Tj) ⊕ Tj for whole blocks, masks starting at index `firstMask`. */
function xtsBlocks(dataKey: Uint8Array, input: Uint8Array, masks: Uint8Array, firstMask: number, encrypt: boolean): Uint8Array {
  if (input.length === 0) return input;
  const offset = firstMask * AES_BLOCK;
  const mixed = xorKeystream(input, masks.subarray(offset, offset + input.length));
  const cipher = ecb(dataKey, { disablePadding: true });
  const done = encrypt ? cipher.encrypt(mixed) : cipher.decrypt(mixed);
  return xorKeystream(done, masks.subarray(offset, offset + input.length));
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
