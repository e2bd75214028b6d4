/**
 * CIPHER SYMMETRIC (INS 78): `80 78 kk alg` with an AES or secret key kk.
 *
 * Fixed algorithms, data = the raw input:
 *   10  AES-CBC encrypt, IV zero, no padding     11  AES-CBC decrypt
 *   18  AES-CMAC                                 99  HKDF-SHA-256 (salt empty, info = data, L = data length)
 *
 * Extended algorithms, data = TLVs 06 OID, 81 input, 82 IV / nonce / salt, 83 AAD / parameters;
 * 51 encrypts (or runs the MAC/KDF), 52 decrypts. The OID selects AES-ECB/CBC/OFB/CFB/GCM/CCM/
 * CTR, AES-XTS, ChaCha20-Poly1305, HMAC-SHA-1/2, HKDF-SHA-256/384/512, PBKDF2, the X9.63 KDF, or the
 * HD cipher keyed by the pending SLIP-21 node.
 *
 * Status words:
 *   6B00  unknown P2
 *   6400  an RSA or EC key (a key-type mismatch), extended CBC input that is not whole blocks,
 *         XTS input under 16 bytes, a GCM or CCM tag mismatch
 *   6700  a missing or unknown OID, a wrong key, IV or nonce length, malformed KDF parameters,
 *         fixed CBC input that is not whole blocks, a ChaCha20-Poly1305 tag mismatch
 */
import { CardError, SW, type AppletResponse } from "@hsmkit/apdu";
import { AES_BLOCK, AEAD_TAG_BYTES, aesCmac, aesDecrypt, aesEncrypt, aesXts, AuthenticationError, type AesMode } from "../crypto/aes-modes.ts";
import { hashLength, type HashName } from "../crypto/hash.ts";
import { chachaPolyDecrypt, chachaPolyEncrypt, hkdf, hmac, pbkdf2, x963Kdf } from "../crypto/kdf.ts";
import { hdCipher } from "../hd/cipher.ts";
import { MAX_RESPONSE_DATA } from "../hsm/constants.ts";
import type { CommandContext, CommandHandler, KeyInfo } from "../hsm/context.ts";
import { firstTlv, flatTlvs, type FlatTlv } from "../hsm/tlv-walk.ts";
import { confirmPresence } from "../policy/press-to-confirm.ts";

/** Algorithm bytes (P2) of CIPHER SYMMETRIC. */
export const CIPHER_ALGORITHM = {
  AES_CBC_ENCRYPT: 0x10,
  AES_CBC_DECRYPT: 0x11,
  AES_CMAC: 0x18,
  /** HKDF-SHA-256 keyed with the stored secret: AES secret-key derivation. */
  AES_DERIVE: 0x99,
  EXTENDED_ENCRYPT: 0x51,
  EXTENDED_DECRYPT: 0x52,
} as const;

const KNOWN_ALGORITHMS = new Set<number>(Object.values(CIPHER_ALGORITHM));

/** Key lengths a stored secret key may have: AES-128/192/256 and the AES-256-XTS pair. */
const SECRET_KEY_BYTES = new Set([16, 24, 32, 64]);

/** Longest HKDF output of algorithm 99: 255 SHA-256 blocks. */
const MAX_DERIVE_BYTES = 255 * 32;

const TAG_OID = 0x06;
const TAG_INPUT = 0x81;
const TAG_IV = 0x82;
const TAG_PARAMETERS = 0x83;

export const cipherSymmetric: CommandHandler = async (ctx) => {
  const { p1: keyId, p2: algorithm } = ctx.apdu;
  ctx.requireLogin();
  if (!KNOWN_ALGORITHMS.has(algorithm)) throw new CardError(SW.WRONG_P1P2, `CIPHER SYMMETRIC algorithm ${hex(algorithm)} is not defined`);

  const request = algorithm === CIPHER_ALGORITHM.EXTENDED_ENCRYPT || algorithm === CIPHER_ALGORITHM.EXTENDED_DECRYPT ? parseExtended(ctx) : undefined;
  if (request && isHdCipher(request.oid)) return runHdCipher(ctx, request, algorithm === CIPHER_ALGORITHM.EXTENDED_ENCRYPT);

  const info = await ctx.beginKeyUse(keyId, algorithm);
  const key = await loadSecretKey(ctx, info);
  try {
    const data = request ? runExtended(ctx, key, request, algorithm === CIPHER_ALGORITHM.EXTENDED_ENCRYPT) : runFixed(key, algorithm, ctx.apdu.data);
    await ctx.finishKeyUse(info);
    return { data } satisfies AppletResponse;
  } finally {
    key.fill(0);
  }
};

/** Unseals the secret of `info`: 6400 for an RSA or EC key, 6700 for an unusable length. */
async function loadSecretKey(ctx: CommandContext, info: KeyInfo): Promise<Uint8Array> {
  if (info.type !== "aes") throw new CardError(SW.EXECUTION_ERROR, `key ${info.id} is ${info.type.toUpperCase()}, CIPHER SYMMETRIC needs an AES key`);
  const key = await ctx.objects.loadPrivateKey(info);
  if (!SECRET_KEY_BYTES.has(key.length)) {
    key.fill(0);
    throw new CardError(SW.WRONG_LENGTH, `key ${info.id} has ${key.length} bytes; AES keys have 16, 24, 32 or 64`);
  }
  return key;
}

// --- fixed algorithms ------------------------------------------------------------------------

function runFixed(key: Uint8Array, algorithm: number, input: Uint8Array): Uint8Array {
  if (algorithm === CIPHER_ALGORITHM.AES_DERIVE) {
    if (input.length === 0 || input.length > MAX_DERIVE_BYTES) {
      throw new CardError(SW.WRONG_LENGTH, `algorithm 99 derives 1 to ${MAX_DERIVE_BYTES} bytes, got ${input.length} bytes of info`);
    }
    return hkdf("SHA-256", key, new Uint8Array(0), input, input.length);
  }

  if (key.length === 64) throw new CardError(SW.WRONG_LENGTH, `algorithm ${hex(algorithm)} needs an AES-128/192/256 key, not a 512-bit XTS pair`);
  if (algorithm === CIPHER_ALGORITHM.AES_CMAC) return aesCmac(key, input);

  if (input.length % AES_BLOCK !== 0) throw new CardError(SW.WRONG_LENGTH, `AES-CBC input must be a multiple of 16 bytes, got ${input.length}`);
  const cbc = { mode: "cbc" as const, key, iv: new Uint8Array(AES_BLOCK), input };
  return algorithm === CIPHER_ALGORITHM.AES_CBC_ENCRYPT ? aesEncrypt(cbc) : aesDecrypt(cbc);
}

// --- extended algorithms ---------------------------------------------------------------------

interface ExtendedRequest {
  oid: Uint8Array;
  tlvs: FlatTlv[];
  input: Uint8Array;
  iv: Uint8Array | undefined;
  parameters: Uint8Array | undefined;
}

function parseExtended(ctx: CommandContext): ExtendedRequest {
  const tlvs = flatTlvs(ctx.apdu.data);
  const oid = firstTlv(tlvs, TAG_OID);
  if (oid === undefined || oid.length === 0) throw new CardError(SW.WRONG_LENGTH, "algorithm 51/52 needs the OID of the operation in tag 06");
  return {
    oid,
    tlvs,
    input: firstTlv(tlvs, TAG_INPUT) ?? new Uint8Array(0),
    iv: firstTlv(tlvs, TAG_IV),
    parameters: firstTlv(tlvs, TAG_PARAMETERS),
  };
}

const PKCS_ARC = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d];
/** 1.2.840.113549.2.7–11: hmacWithSHA1/224/256/384/512, also the PBKDF2 PRF and X9.63 hash selector. */
const HMAC_OIDS: ReadonlyMap<string, HashName> = new Map([
  [oidKey([...PKCS_ARC, 0x02, 0x07]), "SHA-1"],
  [oidKey([...PKCS_ARC, 0x02, 0x08]), "SHA-224"],
  [oidKey([...PKCS_ARC, 0x02, 0x09]), "SHA-256"],
  [oidKey([...PKCS_ARC, 0x02, 0x0a]), "SHA-384"],
  [oidKey([...PKCS_ARC, 0x02, 0x0b]), "SHA-512"],
]);
/** 1.2.840.113549.1.9.16.3.29–31 as the firmware numbers HKDF-SHA-256/384/512 (one above RFC 8619). */
const HKDF_OIDS: ReadonlyMap<string, HashName> = new Map([
  [oidKey([...PKCS_ARC, 0x01, 0x09, 0x10, 0x03, 0x1d]), "SHA-256"],
  [oidKey([...PKCS_ARC, 0x01, 0x09, 0x10, 0x03, 0x1e]), "SHA-384"],
  [oidKey([...PKCS_ARC, 0x01, 0x09, 0x10, 0x03, 0x1f]), "SHA-512"],
]);
const CHACHA20_POLY1305_OID = oidKey([...PKCS_ARC, 0x01, 0x09, 0x10, 0x03, 0x12]);
const PBKDF2_OID = oidKey([...PKCS_ARC, 0x01, 0x05, 0x0c]);
// TODO: PBES2 (1.2.840.113549.1.5.13, PKCS#7-padded CBC under a PBKDF2 key) is not implemented and gets 6700 like an unknown OID.
/** 1.3.133.16.840.63: ANSI X9.63 KDF (dhSinglePass-stdDH arc). */
const X963_OID = oidKey([0x2b, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3f]);
/** 2.16.840.1.101.3.4.1: NIST AES arc; the last byte names size and mode. */
const AES_ARC = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
/** 1.3.111.2.1619.0.1.1 / .2: AES-XTS-128 / AES-XTS-256 (IEEE 1619). */
const XTS_ARC = [0x2b, 0x6f, 0x02, 0x8c, 0x53, 0x00, 0x00, 0x01];
/** 1.3.6.1.4.1.54392.5.1771: AES-256-CBC keyed by the pending SLIP-21 node. */
const HD_CIPHER_OID = oidKey([0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xa8, 0x78, 0x05, 0x8d, 0x6b]);

function runExtended(ctx: CommandContext, key: Uint8Array, request: ExtendedRequest, encrypt: boolean): Uint8Array {
  const id = oidKey(request.oid);

  const hmacHash = HMAC_OIDS.get(id);
  if (hmacHash !== undefined) return hmac(hmacHash, key, request.input);

  const hkdfHash = HKDF_OIDS.get(id);
  if (hkdfHash !== undefined) {
    const length = outputLength(ctx, hashLength(hkdfHash));
    return guardLength(() => hkdf(hkdfHash, key, request.iv ?? new Uint8Array(0), request.input, length));
  }

  if (id === CHACHA20_POLY1305_OID) return chachaPoly(key, request, encrypt);
  if (id === PBKDF2_OID) return runPbkdf2(ctx, key, request.input);
  if (id === X963_OID) {
    const hash = HMAC_OIDS.get(oidKey(request.input)) ?? "SHA-1";
    return x963Kdf(hash, key, request.parameters ?? new Uint8Array(0), outputLength(ctx, 32));
  }

  const aesMode = lastByteUnder(request.oid, AES_ARC);
  if (aesMode !== undefined) return runAes(key, aesMode, request, encrypt);

  const xtsMode = lastByteUnder(request.oid, XTS_ARC);
  if (xtsMode === 0x01 || xtsMode === 0x02) return runXts(key, xtsMode === 0x01 ? 32 : 64, request, encrypt);

  throw new CardError(SW.WRONG_LENGTH, `CIPHER SYMMETRIC does not know the OID ${hexBytes(request.oid)}`);
}

/** KDF output length: Ne when the command carries Le, else `fallback`; at most one response (4076 bytes). */
function outputLength(ctx: CommandContext, fallback: number): number {
  const length = ctx.apdu.ne === 0 ? fallback : ctx.apdu.ne;
  if (length > MAX_RESPONSE_DATA) {
    throw new CardError(SW.WRONG_LENGTH, `KDF output of ${length} bytes exceeds ${MAX_RESPONSE_DATA}: send Le with the length you need`);
  }
  return length;
}

function guardLength(derive: () => Uint8Array): Uint8Array {
  try {
    return derive();
  } catch (error) {
    if (error instanceof RangeError) throw new CardError(SW.WRONG_LENGTH, error.message);
    throw error;
  }
}

function chachaPoly(key: Uint8Array, request: ExtendedRequest, encrypt: boolean): Uint8Array {
  if (key.length !== 32) throw new CardError(SW.WRONG_LENGTH, `ChaCha20-Poly1305 needs a 32-byte key, key has ${key.length}`);
  if (request.iv?.length !== 12) throw new CardError(SW.WRONG_LENGTH, `ChaCha20-Poly1305 needs a 12-byte nonce in tag 82, got ${request.iv?.length ?? 0}`);
  const aad = request.parameters ?? new Uint8Array(0);
  if (encrypt) return chachaPolyEncrypt(key, request.iv, aad, request.input);

  if (request.input.length < AEAD_TAG_BYTES) throw new CardError(SW.WRONG_LENGTH, "ChaCha20-Poly1305 input must end with its 16-byte tag");
  try {
    return chachaPolyDecrypt(key, request.iv, aad, request.input);
  } catch (error) {
    if (error instanceof AuthenticationError) throw new CardError(SW.WRONG_LENGTH, error.message);
    throw error;
  }
}

const MAX_PBKDF2_ITERATIONS = 1_000_000;
const PBKDF2_DEFAULT_LENGTH = 32;

/** PBKDF2 with the PBKDF2-params contents of tag 81: 04 salt, 02 iterations, [02 keyLength], [30 { 06 PRF OID [05 00] }]. */
function runPbkdf2(ctx: CommandContext, password: Uint8Array, parameters: Uint8Array): Uint8Array {
  const items = flatTlvs(parameters);
  const salt = firstTlv(items, 0x04);
  const integers = items.filter((item) => item.tag === 0x02).map((item) => toNumber(item.value));
  const prf = firstTlv(items, 0x30);
  const iterations = integers[0];

  if (salt === undefined) throw new CardError(SW.WRONG_LENGTH, "PBKDF2 parameters need the salt (04)");
  if (iterations === undefined || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new CardError(SW.WRONG_LENGTH, `PBKDF2 iteration count must be 1 to ${MAX_PBKDF2_ITERATIONS}, got ${iterations ?? "none"}`);
  }

  let hash: HashName = "SHA-1";
  if (prf !== undefined) {
    const found = HMAC_OIDS.get(oidKey(firstTlv(prf, 0x06) ?? new Uint8Array(0)));
    if (found === undefined) throw new CardError(SW.WRONG_LENGTH, "PBKDF2 PRF must be hmacWithSHA1, -SHA224, -SHA256, -SHA384 or -SHA512");
    hash = found;
  }

  const length = integers[1] ?? outputLength(ctx, PBKDF2_DEFAULT_LENGTH);
  if (length < 1 || length > MAX_RESPONSE_DATA) throw new CardError(SW.WRONG_LENGTH, `PBKDF2 key length must be 1 to ${MAX_RESPONSE_DATA}, got ${length}`);
  return pbkdf2(hash, password, salt, iterations, length);
}

/** Mode by the low bits of the AES OID's last byte, repeated for 128 (01–09), 192 (15–1D) and 256 (29–31) bits. */
const AES_MODE_BY_OFFSET: ReadonlyMap<number, AesMode> = new Map([
  [1, "ecb"],
  [2, "cbc"],
  [3, "ofb"],
  [4, "cfb"],
  [6, "gcm"],
  [7, "ccm"],
  [9, "ctr"],
]);

const AES_SIZE_RANGES = [
  { first: 0x01, keyBytes: 16 },
  { first: 0x15, keyBytes: 24 },
  { first: 0x29, keyBytes: 32 },
] as const;

function runAes(key: Uint8Array, modeByte: number, request: ExtendedRequest, encrypt: boolean): Uint8Array {
  const range = AES_SIZE_RANGES.find(({ first }) => modeByte >= first && modeByte <= first + 8);
  const mode = range && AES_MODE_BY_OFFSET.get(modeByte - range.first + 1);
  if (range === undefined || mode === undefined) throw new CardError(SW.WRONG_LENGTH, `AES OID byte ${hex(modeByte)} names no supported mode`);
  if (key.length !== range.keyBytes) {
    throw new CardError(SW.WRONG_LENGTH, `AES OID byte ${hex(modeByte)} needs a ${8 * range.keyBytes}-bit key, key has ${8 * key.length} bits`);
  }

  const iv = request.iv ?? new Uint8Array(AES_BLOCK);
  const input = request.input;
  checkAesInput(mode, iv, input, encrypt);

  const aes = { mode, key, iv, aad: request.parameters, input };
  try {
    return encrypt ? aesEncrypt(aes) : aesDecrypt(aes);
  } catch (error) {
    if (error instanceof AuthenticationError) throw new CardError(SW.EXECUTION_ERROR, error.message);
    throw error;
  }
}

/** GCM IVs below 8 bytes are refused: @noble/ciphers does not support them. */
const MIN_GCM_IV_BYTES = 8;

function checkAesInput(mode: AesMode, iv: Uint8Array, input: Uint8Array, encrypt: boolean): void {
  if (mode === "gcm" || mode === "ccm") {
    const [min, max] = mode === "gcm" ? [MIN_GCM_IV_BYTES, Infinity] : [7, 13];
    if (iv.length < min || iv.length > max) throw new CardError(SW.WRONG_LENGTH, `AES-${mode.toUpperCase()} IV of ${iv.length} bytes: use ${mode === "gcm" ? "8 or more" : "7 to 13"} bytes in tag 82`);
    if (!encrypt && input.length < AEAD_TAG_BYTES) throw new CardError(SW.WRONG_LENGTH, `AES-${mode.toUpperCase()} input must end with its 16-byte tag`);
    return;
  }

  if (iv.length !== AES_BLOCK) throw new CardError(SW.WRONG_LENGTH, `AES-${mode.toUpperCase()} IV must be 16 bytes, got ${iv.length}`);
  if (mode === "ecb" && input.length !== AES_BLOCK) throw new CardError(SW.WRONG_LENGTH, `AES-ECB takes exactly one 16-byte block, got ${input.length} bytes`);
  if (mode === "cbc" && input.length % AES_BLOCK !== 0) throw new CardError(SW.EXECUTION_ERROR, `AES-CBC input must be a multiple of 16 bytes, got ${input.length}`);
}

function runXts(key: Uint8Array, keyBytes: number, request: ExtendedRequest, encrypt: boolean): Uint8Array {
  if (key.length !== keyBytes) throw new CardError(SW.WRONG_LENGTH, `this AES-XTS OID needs a ${keyBytes}-byte key pair, key has ${key.length} bytes`);
  const tweak = request.iv ?? new Uint8Array(AES_BLOCK);
  if (tweak.length !== AES_BLOCK) throw new CardError(SW.WRONG_LENGTH, `AES-XTS tweak must be 16 bytes, got ${tweak.length}`);
  if (request.input.length < AES_BLOCK) throw new CardError(SW.EXECUTION_ERROR, `AES-XTS input must be at least 16 bytes, got ${request.input.length}`);
  return aesXts(key, tweak, request.input, encrypt);
}

// --- HD cipher ---------------------------------------------------------------------------------

function isHdCipher(oid: Uint8Array): boolean {
  return oidKey(oid) === HD_CIPHER_OID;
}

/**
 * AES-256-CBC keyed by the pending SLIP-21 node (consumed even on failure). P1 is ignored and no
 * key checks apply, but press-to-confirm does (6600).
 */
async function runHdCipher(ctx: CommandContext, request: ExtendedRequest, encrypt: boolean): Promise<AppletResponse> {
  await confirmPresence(ctx, { operation: "CIPHER SYMMETRIC with the HD node" });
  const data = hdCipher(ctx.session, { input: request.input, iv: request.iv, aad: request.parameters }, encrypt);
  return { data };
}

// --- helpers -----------------------------------------------------------------------------------

/** Returns the last byte of `oid` when the bytes before it are exactly `arc`. */
function lastByteUnder(oid: Uint8Array, arc: readonly number[]): number | undefined {
  if (oid.length !== arc.length + 1) return undefined;
  return arc.every((byte, i) => oid[i] === byte) ? oid[arc.length] : undefined;
}

function oidKey(bytes: Iterable<number>): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function toNumber(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return bytes.length > 6 ? Number.MAX_SAFE_INTEGER : value;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join("");
}
