/**
 * RSA private-key operations of the card: key generation, the raw private-key operation,
 * PKCS#1 v1.5 and PSS signatures, and PKCS#1 v1.5, OAEP and raw decryption.
 *
 * Engines: OpenSSL 3's libcrypto through Deno's FFI (`openssl-rsa.ts`) when the process can load
 * it, otherwise Deno's node:crypto. The choice is made once, when this module loads, and a
 * fallback to node:crypto is logged once at warn. On a 2-core x86-64 machine under load with
 * Deno 2.9.6 and OpenSSL 3.0.22, `src/crypto/bench-rsa.ts` measured about 4,200 RSA-2048 raw
 * operations per second on libcrypto and 740 on node:crypto. Key generation runs on the same
 * engine: both took a median of about 120 ms for RSA-2048 there, and libcrypto hands over the
 * loaded key, so the first operation needs no import.
 *
 * This module checks every length and range and maps failures to status words, so both engines
 * return the same status words. Parsed keys are kept in a small cache per engine (see
 * {@link createRsaOperations}), because SIGNATURE and DECIPHER decode the sealed key on every call.
 *
 * NOTE: side channels are those of the engine, which this module does not audit: libcrypto blinds
 * its private-key operations, and Deno's node:crypto may leak timing to the extent its
 * implementation does.
 */
import * as nodeCrypto from "node:crypto";
import { CardError, SW } from "@hsmkit/apdu";
import { createLogger, type Logger } from "../log.ts";
import { bigIntToBytes, bytesToBigInt } from "./curves.ts";
import { hashLength, type HashName } from "./hash.ts";
import { openLibcryptoRsaEngine } from "./openssl-rsa.ts";
import { encodePss } from "./pss.ts";

/** An RSA private key with its CRT parameters (RFC 8017 §3.2, second representation). */
export interface RsaPrivateKey {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qi: bigint;
}

export type RsaDecryptScheme = "raw" | "pkcs1" | { oaep: HashName };

/** Smallest and largest modulus the card generates, in bits. */
export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 4096;

/** The only public exponent the card uses: the firmware reloads every key with e = 65537. */
export const RSA_PUBLIC_EXPONENT = 65537n;

/**
 * A key loaded into an engine. The caller has checked every input: a block is k bytes and below
 * n, and a DigestInfo is at most k − 11 bytes. A digest is as long as its hash, a PSS salt fits
 * the key, and a ciphertext is k bytes. Outputs may be shorter than k when they have leading zeros.
 */
export interface RsaEngineKey {
  /** Computes block^d mod n. */
  raw(block: Uint8Array): Uint8Array;

  /** Signs with EMSA-PKCS1-v1_5 padding around the DigestInfo as given. */
  pkcs1Sign(digestInfo: Uint8Array): Uint8Array;

  /** Signs a precomputed digest with RSASSA-PSS, MGF1 with the same hash and `saltLength` random salt bytes. */
  pssSign(hash: HashName, digest: Uint8Array, saltLength: number): Uint8Array;

  /** Decrypts and unpads, and throws on a padding failure. OAEP uses MGF1 with the same hash and an empty label. */
  decrypt(scheme: "pkcs1" | { oaep: HashName }, ciphertext: Uint8Array): Uint8Array;

  /** Releases the engine's copy of the key. The key must not be used afterwards. */
  free(): void;
}

/** An implementation of the RSA private-key operations. */
export interface RsaEngine {
  /** Name and version for logs, such as "libcrypto 3.0.22" or "node:crypto". */
  readonly name: string;

  /**
   * Generates a key with e = 65537 and a modulus of exactly `bits` bits, and returns it loaded
   * with its DER RSAPrivateKey, which the caller wipes.
   */
  generate(bits: number): Promise<{ der: Uint8Array; key: RsaEngineKey }>;

  /** Loads a DER RSAPrivateKey (PKCS#1) that this module has already validated. */
  importKey(der: Uint8Array): RsaEngineKey;
}

/** The RSA operations of the card, bound to one engine and its key cache. */
export interface RsaOperations {
  readonly engine: RsaEngine;

  /**
   * Generates a key with e = 65537 and a modulus of exactly `bits` bits.
   * `bits` must be a multiple of 8 from 1024 to 4096, otherwise CardError WRONG_LENGTH (67 00).
   */
  generateRsaKey(bits: number): Promise<RsaPrivateKey>;

  /**
   * Computes block^d mod n, the raw private-key operation of SIGNATURE algorithm 20 and DECIPHER
   * algorithm 21, and returns exactly k bytes, leading zeros included.
   * A block shorter than k bytes is zero-padded on the right, as the firmware does.
   * Throws CardError WRONG_LENGTH (67 00) for an empty block or one longer than k bytes, and
   * EXECUTION_ERROR (64 00), the firmware's status word, when the block's value is not below n.
   */
  rsaRaw(key: RsaPrivateKey, block: Uint8Array): Promise<Uint8Array>;

  /**
   * Signs with RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) over a DER DigestInfo the caller supplies, and
   * returns k bytes. The DigestInfo is padded as given, without checking its algorithm.
   * Throws CardError WRONG_LENGTH (67 00) when it is empty or exceeds k − 11 bytes.
   */
  rsaPkcs1Sign(key: RsaPrivateKey, digestInfo: Uint8Array): Promise<Uint8Array>;

  /**
   * Signs a precomputed `digest` with RSASSA-PSS (RFC 8017 §8.1), MGF1 with the same hash, and
   * returns k bytes. The salt is `saltLength` random bytes, by default the hash length, or
   * k − hLen − 2 when the key is shorter than 2·hLen + 2 bytes (RSA-1024 with SHA-512 gets a
   * 62-byte salt). Throws CardError WRONG_LENGTH (67 00) for a digest of the wrong length or a
   * salt length that is negative or does not fit.
   */
  rsaPssSign(key: RsaPrivateKey, hash: HashName, digest: Uint8Array, saltLength?: number): Promise<Uint8Array>;

  /**
   * Decrypts `ciphertext` and returns the message: all k bytes for "raw" (as `rsaRaw`), the
   * unpadded plaintext for "pkcs1" (RSAES-PKCS1-v1_5) and OAEP (MGF1 with the same hash, empty
   * label). For "pkcs1" and OAEP the ciphertext must be exactly k bytes (CardError WRONG_LENGTH,
   * 67 00), and a padding failure raises CardError EXECUTION_ERROR (64 00), as the firmware does.
   */
  rsaDecrypt(key: RsaPrivateKey, scheme: RsaDecryptScheme, ciphertext: Uint8Array): Promise<Uint8Array>;

  /**
   * Parses a DER RSAPrivateKey (PKCS#1) and checks that n = p·q and that e and d are inverse
   * exponents modulo p − 1 and q − 1. Throws a RangeError for malformed or inconsistent input.
   * NOTE: Deno 2.9's node:crypto, which parses the DER, recomputes dp, dq and qi from p, q and d,
   * so stored CRT values that disagree with them are replaced, not rejected.
   */
  decodeRsaPrivateKey(bytes: Uint8Array): RsaPrivateKey;
}

/** Number of keys an engine keeps loaded. Beyond it, the least recently used key is freed. */
export const RSA_KEY_CACHE_SIZE = 32;

const NODE_HASH_NAMES: Record<HashName, string> = {
  "SHA-1": "sha1",
  "SHA-224": "sha224",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

/**
 * The engine on Deno's node:crypto. Its PSS signatures encode EMSA-PSS in `pss.ts`, because
 * neither node:crypto nor WebCrypto signs a digest the caller computed.
 */
export const nodeRsaEngine: RsaEngine = {
  name: "node:crypto",

  async generate(bits) {
    const privateKey = await new Promise<nodeCrypto.KeyObject>((resolve, reject) => {
      const options = { modulusLength: bits, publicExponent: Number(RSA_PUBLIC_EXPONENT) };
      nodeCrypto.generateKeyPair("rsa", options, (error, _publicKey, generated) => {
        if (error) reject(error);
        else resolve(generated);
      });
    });
    return { der: exportDer(privateKey), key: nodeEngineKey(privateKey) };
  },

  importKey(der) {
    return nodeEngineKey(parseDer(der));
  },
};

function nodeEngineKey(privateKey: nodeCrypto.KeyObject): RsaEngineKey {
  const modulusBits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (modulusBits === undefined) throw new RangeError("node:crypto reports no modulus length for this RSA key");
  const raw = (block: Uint8Array) => new Uint8Array(nodeCrypto.privateDecrypt({ key: privateKey, padding: nodeCrypto.constants.RSA_NO_PADDING }, block));

  return {
    raw,
    pkcs1Sign: (digestInfo) => new Uint8Array(nodeCrypto.privateEncrypt({ key: privateKey, padding: nodeCrypto.constants.RSA_PKCS1_PADDING }, digestInfo)),
    pssSign: (hash, digest, saltLength) => raw(leftPad(encodePss(hash, digest, modulusBits - 1, saltLength), Math.ceil(modulusBits / 8))),
    decrypt: (scheme, ciphertext) => {
      const options: nodeCrypto.RsaPrivateKey =
        scheme === "pkcs1"
          ? { key: privateKey, padding: nodeCrypto.constants.RSA_PKCS1_PADDING }
          : { key: privateKey, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH_NAMES[scheme.oaep] };
      return new Uint8Array(nodeCrypto.privateDecrypt(options, ciphertext));
    },
    free: () => {},
  };
}

const defaultLogger = createLogger({ level: "warn" }, { component: "rsa" });

/**
 * Returns the libcrypto engine when this process can load it, otherwise {@link nodeRsaEngine}
 * after one warning on `logger` that names the reason.
 */
export function selectRsaEngine(options: { libraryPath?: string; logger?: Logger } = {}): RsaEngine {
  try {
    return openLibcryptoRsaEngine(options.libraryPath);
  } catch (error) {
    const logger = options.logger ?? defaultLogger;
    logger.warn("RSA runs on node:crypto, the slower engine, because libcrypto is unavailable", { reason: (error as Error).message });
    return nodeRsaEngine;
  }
}

/**
 * Binds the card's RSA operations to `engine`. Keys are loaded into the engine on first use and
 * kept in a cache of `cacheSize` entries keyed by the SHA-256 of their DER, so that decoding the
 * same sealed key again costs one hash. An evicted key is freed, and loaded again from its fields
 * if an object still refers to it.
 */
export function createRsaOperations(engine: RsaEngine, cacheSize: number = RSA_KEY_CACHE_SIZE): RsaOperations {
  const cache = new KeyCache(cacheSize);
  const fingerprints = new WeakMap<RsaPrivateKey, string>();

  /** Returns the engine's copy of `key`, loading it from the key's fields when no cache entry has it. */
  const engineKeyOf = (key: RsaPrivateKey): RsaEngineKey => {
    const known = fingerprints.get(key);
    const cached = known === undefined ? undefined : cache.get(known);
    if (cached !== undefined) return cached.engineKey;

    const der = encodeRsaPrivateKey(key);
    try {
      const fingerprint = fingerprintOf(der);
      const entry = cache.get(fingerprint) ?? cache.add(fingerprint, { key: { ...key }, checked: false, engineKey: engine.importKey(der) });
      fingerprints.set(key, fingerprint);
      return entry.engineKey;
    } finally {
      der.fill(0);
    }
  };

  const generateRsaKey = async (bits: number): Promise<RsaPrivateKey> => {
    checkModulusSize(bits);
    const generated = await engine.generate(bits);
    try {
      const key = keyFromJwk(parseDer(generated.der).export({ format: "jwk" }));
      const fingerprint = fingerprintOf(generated.der);
      cache.add(fingerprint, { key: { ...key }, checked: true, engineKey: generated.key });
      fingerprints.set(key, fingerprint);
      return key;
    } catch (error) {
      generated.key.free();
      throw error;
    } finally {
      generated.der.fill(0);
    }
  };

  const rsaRaw = async (key: RsaPrivateKey, block: Uint8Array): Promise<Uint8Array> => {
    const k = rsaModulusBytes(key);
    const padded = checkRawBlock(key, k, block);
    return leftPad(engineKeyOf(key).raw(padded), k);
  };

  const rsaPkcs1Sign = async (key: RsaPrivateKey, digestInfo: Uint8Array): Promise<Uint8Array> => {
    const k = rsaModulusBytes(key);
    if (digestInfo.length === 0 || digestInfo.length > k - 11) {
      throw new CardError(SW.WRONG_LENGTH, `DigestInfo must be 1 to ${k - 11} bytes for this key, got ${digestInfo.length}`);
    }
    return leftPad(engineKeyOf(key).pkcs1Sign(digestInfo), k);
  };

  const rsaPssSign = async (key: RsaPrivateKey, hash: HashName, digest: Uint8Array, saltLength?: number): Promise<Uint8Array> => {
    const expected = hashLength(hash);
    if (digest.length !== expected) {
      throw new CardError(SW.WRONG_LENGTH, `${hash} digest must be ${expected} bytes, got ${digest.length}`);
    }

    const k = rsaModulusBytes(key);
    const salt = saltLength ?? defaultPssSaltLength(k, hash);
    checkPssSalt(hash, bitLength(key.n), salt);
    return leftPad(engineKeyOf(key).pssSign(hash, digest, salt), k);
  };

  const rsaDecrypt = async (key: RsaPrivateKey, scheme: RsaDecryptScheme, ciphertext: Uint8Array): Promise<Uint8Array> => {
    if (scheme === "raw") return rsaRaw(key, ciphertext);

    const k = rsaModulusBytes(key);
    if (ciphertext.length !== k) {
      throw new CardError(SW.WRONG_LENGTH, `RSA ciphertext must be ${k} bytes for this key, got ${ciphertext.length}`);
    }

    const engineKey = engineKeyOf(key);
    try {
      return engineKey.decrypt(scheme, ciphertext);
    } catch {
      const name = scheme === "pkcs1" ? "PKCS#1 v1.5" : `OAEP with ${scheme.oaep}`;
      throw new CardError(SW.EXECUTION_ERROR, `RSA ${name} decryption failed`);
    }
  };

  const decodeRsaPrivateKey = (bytes: Uint8Array): RsaPrivateKey => {
    // A hit needs an entry that was checked, because one loaded from a caller's fields was not.
    // (Deno 2.9 rejects or repairs such fields when encoding them, but this does not rely on it.)
    const fingerprint = fingerprintOf(bytes);
    const cached = cache.get(fingerprint);
    if (cached?.checked) {
      const copy = { ...cached.key };
      fingerprints.set(copy, fingerprint);
      return copy;
    }

    const key = decodeAndCheck(bytes);
    const canonical = encodeRsaPrivateKey(key);
    try {
      cache.add(fingerprint, { key: { ...key }, checked: true, engineKey: engine.importKey(canonical) });
    } finally {
      canonical.fill(0);
    }
    fingerprints.set(key, fingerprint);
    return key;
  };

  return { engine, generateRsaKey, rsaRaw, rsaPkcs1Sign, rsaPssSign, rsaDecrypt, decodeRsaPrivateKey };
}

/** Returns k, the length of the modulus in bytes. */
export function rsaModulusBytes(key: RsaPrivateKey): number {
  return Math.ceil(bitLength(key.n) / 8);
}

/** Serializes `key` as a DER RSAPrivateKey (PKCS#1, RFC 8017 appendix A.1.2). */
export function encodeRsaPrivateKey(key: RsaPrivateKey): Uint8Array {
  const privateKey = nodeCrypto.createPrivateKey({ key: keyToJwk(key), format: "jwk" });
  return exportDer(privateKey);
}

/**
 * Returns the PSS salt length the card uses: the hash length when the modulus has at least
 * 2·hLen + 2 bytes, otherwise k − hLen − 2.
 */
function defaultPssSaltLength(modulusBytes: number, hash: HashName): number {
  const hLen = hashLength(hash);
  return modulusBytes >= 2 * hLen + 2 ? hLen : modulusBytes - hLen - 2;
}

/** Checks that EM, emLen = ⌈(modBits − 1) / 8⌉ bytes, has room for the hash, the salt and two bytes (RFC 8017 §9.1.1 step 3). */
function checkPssSalt(hash: HashName, modulusBits: number, saltLength: number): void {
  if (!Number.isInteger(saltLength) || saltLength < 0) {
    throw new CardError(SW.WRONG_LENGTH, `PSS encoding failed: invalid PSS salt length ${saltLength}`);
  }

  const emLength = Math.ceil((modulusBits - 1) / 8);
  if (emLength < hashLength(hash) + saltLength + 2) {
    throw new CardError(SW.WRONG_LENGTH, `PSS encoding failed: PSS salt of ${saltLength} bytes with ${hash} does not fit a ${modulusBits}-bit key`);
  }
}

function checkModulusSize(bits: number): void {
  if (!Number.isInteger(bits) || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 !== 0) {
    throw new CardError(
      SW.WRONG_LENGTH,
      `unsupported RSA modulus size ${bits}: use a multiple of 8 from ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`,
    );
  }
}

/** Returns `block` zero-padded on the right to k bytes, after checking its length and that it is below n. */
function checkRawBlock(key: RsaPrivateKey, k: number, block: Uint8Array): Uint8Array {
  if (block.length === 0 || block.length > k) {
    throw new CardError(SW.WRONG_LENGTH, `RSA input must be 1 to ${k} bytes for this key, got ${block.length}`);
  }

  const padded = new Uint8Array(k);
  padded.set(block);
  if (bytesToBigInt(padded) >= key.n) {
    throw new CardError(SW.EXECUTION_ERROR, "RSA input is not smaller than the modulus");
  }
  return padded;
}

function decodeAndCheck(bytes: Uint8Array): RsaPrivateKey {
  let parsed: nodeCrypto.KeyObject;
  try {
    parsed = parseDer(bytes);
  } catch (error) {
    throw new RangeError(`invalid RSAPrivateKey: ${(error as Error).message}`);
  }
  if (parsed.asymmetricKeyType !== "rsa") throw new RangeError("invalid RSAPrivateKey: not an RSA key");

  const key = keyFromJwk(parsed.export({ format: "jwk" }));
  checkConsistent(key);
  return key;
}

function checkConsistent(key: RsaPrivateKey): void {
  const { n, e, d, p, q, dp, dq, qi } = key;
  const consistent =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    dp === d % (p - 1n) &&
    dq === d % (q - 1n) &&
    (qi * q) % p === 1n &&
    (e * dp) % (p - 1n) === 1n &&
    (e * dq) % (q - 1n) === 1n;
  if (!consistent) throw new RangeError("invalid RSAPrivateKey: parameters are inconsistent");
}

interface CacheEntry {
  key: RsaPrivateKey;
  /** Whether `key` passed the consistency checks of decoding, as opposed to coming from a caller's fields. */
  checked: boolean;
  engineKey: RsaEngineKey;
}

/** Least-recently-used map from a key's fingerprint to its fields and engine copy, which frees what it evicts. */
class KeyCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`invalid RSA key cache size ${capacity}: use 1 or more`);
    this.#capacity = capacity;
  }

  get(fingerprint: string): CacheEntry | undefined {
    const entry = this.#entries.get(fingerprint);
    if (entry === undefined) return undefined;

    // Map iterates in insertion order, so re-inserting marks the entry as most recently used.
    this.#entries.delete(fingerprint);
    this.#entries.set(fingerprint, entry);
    return entry;
  }

  add(fingerprint: string, entry: CacheEntry): CacheEntry {
    this.#entries.get(fingerprint)?.engineKey.free();
    this.#entries.delete(fingerprint);
    this.#entries.set(fingerprint, entry);

    for (const [oldest, evicted] of this.#entries) {
      if (this.#entries.size <= this.#capacity) break;
      this.#entries.delete(oldest);
      evicted.engineKey.free();
    }
    return entry;
  }
}

/** Returns the hex SHA-256 of a DER key, which the cache uses as its key in place of the key bytes. */
function fingerprintOf(der: Uint8Array): string {
  return nodeCrypto.createHash("sha256").update(der).digest("hex");
}

function parseDer(der: Uint8Array): nodeCrypto.KeyObject {
  const view = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  return nodeCrypto.createPrivateKey({ key: view, format: "der", type: "pkcs1" });
}

function exportDer(privateKey: nodeCrypto.KeyObject): Uint8Array {
  const der = privateKey.export({ format: "der", type: "pkcs1" });
  const copy = new Uint8Array(der);
  der.fill(0);
  return copy;
}

function bitLength(value: bigint): number {
  return value.toString(2).length;
}

const JWK_FIELDS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;

function keyFromJwk(jwk: nodeCrypto.JsonWebKey): RsaPrivateKey {
  const values = JWK_FIELDS.map((field) => {
    const text = jwk[field];
    if (typeof text !== "string") throw new RangeError(`RSA key has no ${field}`);
    return bytesToBigInt(Buffer.from(text, "base64url"));
  });
  const [n, e, d, p, q, dp, dq, qi] = values;
  return { n, e, d, p, q, dp, dq, qi };
}

function keyToJwk(key: RsaPrivateKey): nodeCrypto.JsonWebKey {
  const jwk: nodeCrypto.JsonWebKey = { kty: "RSA" };
  for (const field of JWK_FIELDS) {
    const value = key[field];
    const bytes = bigIntToBytes(value, Math.max(1, Math.ceil(value.toString(16).length / 2)));
    jwk[field] = Buffer.from(bytes).toString("base64url");
  }
  return jwk;
}

function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length === length) return bytes;
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  return out;
}

const selected = createRsaOperations(selectRsaEngine());

// The card's RSA operations on the engine selected when this module loaded (see RsaOperations).
// They come last because the selection runs at load time and needs every declaration above.
export const generateRsaKey = selected.generateRsaKey;
export const rsaRaw = selected.rsaRaw;
export const rsaPkcs1Sign = selected.rsaPkcs1Sign;
export const rsaPssSign = selected.rsaPssSign;
export const rsaDecrypt = selected.rsaDecrypt;
export const decodeRsaPrivateKey = selected.decodeRsaPrivateKey;

/** Returns the name of the engine the exported operations run on, such as "libcrypto 3.0.22". */
export function rsaEngineName(): string {
  return selected.engine.name;
}
