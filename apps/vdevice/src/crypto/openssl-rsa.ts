/**
 * The RSA engine on OpenSSL 3's libcrypto. Each key is parsed once into an EVP_PKEY. Every
 * operation is one EVP_PKEY_sign or EVP_PKEY_decrypt call on a fresh EVP_PKEY_CTX, whose RSA
 * padding selects the scheme. libcrypto pads itself (PSS, MGF1, OAEP), and it signs a digest the
 * caller computed, which node:crypto and WebCrypto cannot.
 *
 * `rsa.ts` checks every length and range before calling into this engine and maps its errors to
 * status words. Its private-key operations use RSA blinding, as OpenSSL 3 does by default.
 */
import type { HashName } from "./hash.ts";
import {
  EVP_PKEY_RSA,
  openLibcrypto,
  RSA_NO_PADDING,
  RSA_PKCS1_OAEP_PADDING,
  RSA_PKCS1_PADDING,
  RSA_PKCS1_PSS_PADDING,
  type Libcrypto,
  type Pointer,
} from "./openssl-libcrypto.ts";
import type { RsaEngine, RsaEngineKey } from "./rsa.ts";

type Bytes = Uint8Array<ArrayBuffer>;

/** OpenSSL's names for the card's hashes (each is also an alias in OpenSSL 3's default provider). */
const DIGEST_NAMES: Record<HashName, string> = {
  "SHA-1": "SHA1",
  "SHA-224": "SHA2-224",
  "SHA-256": "SHA2-256",
  "SHA-384": "SHA2-384",
  "SHA-512": "SHA2-512",
};

/**
 * Opens libcrypto (see {@link openLibcrypto} for when that fails) and returns an RSA engine on it.
 * Throws when the library lacks one of the card's hashes.
 */
export function openLibcryptoRsaEngine(libraryPath?: string): RsaEngine {
  const lib = openLibcrypto(libraryPath);
  const digests = fetchDigests(lib);
  const pkcs1Decryption = explicitRejectionParams(lib);
  const operations = new LibcryptoOperations(lib, digests, pkcs1Decryption);

  return {
    name: `libcrypto ${lib.version}`,
    generate: (bits) => operations.generate(bits),
    importKey: (der) => operations.wrap(operations.parse(der)),
  };
}

/** Fetches the EVP_MD of each hash, once for the engine's lifetime (they are never freed). */
function fetchDigests(lib: Libcrypto): Record<HashName, Pointer> {
  const entries = Object.entries(DIGEST_NAMES).map(([hash, name]) => {
    const md = lib.symbols.EVP_MD_fetch(null, cString(name), null);
    if (md === null) throw new Error(`libcrypto has no ${name} digest: ${lib.takeErrors()}`);
    return [hash, md] as const;
  });
  return Object.fromEntries(entries) as Record<HashName, Pointer>;
}

/**
 * Builds the OSSL_PARAM list `implicit-rejection = 0`. From OpenSSL 3.2 on, PKCS#1 v1.5
 * decryption returns a random message instead of failing on bad padding unless this is set, and
 * the card must return 64 00 there as the firmware does. OpenSSL 3.0 and 3.1 ignore the parameter.
 */
function explicitRejectionParams(lib: Libcrypto): Pointer {
  const { symbols } = lib;
  const builder = symbols.OSSL_PARAM_BLD_new();
  if (builder === null) throw new Error(`OSSL_PARAM_BLD_new failed: ${lib.takeErrors()}`);

  try {
    if (symbols.OSSL_PARAM_BLD_push_uint(builder, cString("implicit-rejection"), 0) !== 1) {
      throw new Error(`OSSL_PARAM_BLD_push_uint failed: ${lib.takeErrors()}`);
    }
    const params = symbols.OSSL_PARAM_BLD_to_param(builder);
    if (params === null) throw new Error(`OSSL_PARAM_BLD_to_param failed: ${lib.takeErrors()}`);
    return params;
  } finally {
    symbols.OSSL_PARAM_BLD_free(builder);
  }
}

type Operation = "sign" | "decrypt";

class LibcryptoOperations {
  readonly #lib: Libcrypto;
  readonly #digests: Record<HashName, Pointer>;
  readonly #pkcs1Decryption: Pointer;

  constructor(lib: Libcrypto, digests: Record<HashName, Pointer>, pkcs1Decryption: Pointer) {
    this.#lib = lib;
    this.#digests = digests;
    this.#pkcs1Decryption = pkcs1Decryption;
  }

  /** Parses a DER RSAPrivateKey into a new EVP_PKEY, through a copy that is wiped afterwards. */
  parse(der: Uint8Array): Pointer {
    const { symbols } = this.#lib;
    const copy = new Uint8Array(der);
    try {
      const cursor = BigUint64Array.of(this.#lib.addressOf(copy));
      const pkey = symbols.d2i_PrivateKey(EVP_PKEY_RSA, null, cursor, BigInt(copy.length));
      if (pkey === null) throw this.#failure("d2i_PrivateKey");
      if (symbols.EVP_PKEY_get_base_id(pkey) !== EVP_PKEY_RSA) {
        symbols.EVP_PKEY_free(pkey);
        throw new Error("d2i_PrivateKey returned a key that is not RSA");
      }
      return pkey;
    } finally {
      copy.fill(0);
    }
  }

  /** Generates an EVP_PKEY on a worker thread and returns it with its DER RSAPrivateKey. */
  async generate(bits: number): Promise<{ der: Uint8Array; key: RsaEngineKey }> {
    const { symbols } = this.#lib;
    const context = symbols.EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, null);
    if (context === null) throw this.#failure("EVP_PKEY_CTX_new_id");

    const generated = new BigUint64Array(1);
    try {
      if (symbols.EVP_PKEY_keygen_init(context) !== 1) throw this.#failure("EVP_PKEY_keygen_init");
      if (symbols.EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) !== 1) throw this.#failure("EVP_PKEY_CTX_set_rsa_keygen_bits");

      // The public exponent is OpenSSL's default, 65537. Errors of the worker thread stay in its own queue.
      if ((await symbols.EVP_PKEY_keygen(context, generated)) !== 1) throw new Error(`EVP_PKEY_keygen failed for ${bits} bits`);
    } finally {
      symbols.EVP_PKEY_CTX_free(context);
    }

    const pkey = this.#lib.pointerAt(generated[0]);
    const key = this.wrap(pkey);
    try {
      return { der: this.#encode(pkey), key };
    } catch (error) {
      key.free();
      throw error;
    }
  }

  /** Serializes `pkey` as DER RSAPrivateKey, the "type-specific" form that i2d_PrivateKey writes for RSA. */
  #encode(pkey: Pointer): Uint8Array {
    const { symbols } = this.#lib;
    const length = symbols.i2d_PrivateKey(pkey, null);
    if (length <= 0) throw this.#failure("i2d_PrivateKey");

    const der = new Uint8Array(length);
    if (symbols.i2d_PrivateKey(pkey, BigUint64Array.of(this.#lib.addressOf(der))) !== length) {
      der.fill(0);
      throw this.#failure("i2d_PrivateKey");
    }
    return der;
  }

  /** Wraps an EVP_PKEY that the returned key owns and frees once. */
  wrap(pkey: Pointer): RsaEngineKey {
    let owned: Pointer = pkey;
    const use = (): Pointer => {
      if (owned === null) throw new Error("RSA key was used after its EVP_PKEY was freed");
      return owned;
    };

    return {
      raw: (block) => this.#run(use(), "decrypt", block, (context) => this.#setPadding(context, RSA_NO_PADDING)),
      pkcs1Sign: (digestInfo) => this.#run(use(), "sign", digestInfo, (context) => this.#setPadding(context, RSA_PKCS1_PADDING)),
      pssSign: (hash, digest, saltLength) => this.#run(use(), "sign", digest, (context) => this.#setPss(context, hash, saltLength)),
      decrypt: (scheme, ciphertext) =>
        this.#run(use(), "decrypt", ciphertext, (context) =>
          scheme === "pkcs1" ? this.#setPkcs1Decryption(context) : this.#setOaep(context, scheme.oaep),
        ),
      free: () => {
        if (owned === null) return;
        this.#lib.symbols.EVP_PKEY_free(owned);
        owned = null;
      },
    };
  }

  /**
   * Runs one EVP_PKEY_sign or EVP_PKEY_decrypt on `input` after `configure` set the padding, and
   * returns the output. The output buffer is sized by libcrypto and wiped when it returns less.
   */
  #run(pkey: Pointer, operation: Operation, input: Uint8Array, configure: (context: Pointer) => void): Uint8Array {
    const { symbols } = this.#lib;
    const context = symbols.EVP_PKEY_CTX_new(pkey, null);
    if (context === null) throw this.#failure("EVP_PKEY_CTX_new");

    try {
      const initialized = operation === "sign" ? symbols.EVP_PKEY_sign_init(context) : symbols.EVP_PKEY_decrypt_init(context);
      if (initialized !== 1) throw this.#failure(`EVP_PKEY_${operation}_init`);
      configure(context);
      return this.#call(context, operation, new Uint8Array(input));
    } finally {
      symbols.EVP_PKEY_CTX_free(context);
    }
  }

  #call(context: Pointer, operation: Operation, input: Bytes): Uint8Array {
    const { symbols } = this.#lib;
    const call = operation === "sign" ? symbols.EVP_PKEY_sign : symbols.EVP_PKEY_decrypt;

    // A NULL output requests the largest output length (k for RSA) from libcrypto.
    const length = BigUint64Array.of(0n);
    if (call(context, null, length, input, BigInt(input.length)) !== 1) throw this.#failure(`EVP_PKEY_${operation}`);

    const output = new Uint8Array(Number(length[0]));
    if (call(context, output, length, input, BigInt(input.length)) !== 1) {
      output.fill(0);
      throw this.#failure(`EVP_PKEY_${operation}`);
    }

    const written = Number(length[0]);
    if (written === output.length) return output;
    const result = output.slice(0, written);
    output.fill(0);
    return result;
  }

  #setPadding(context: Pointer, padding: number): void {
    if (this.#lib.symbols.EVP_PKEY_CTX_set_rsa_padding(context, padding) !== 1) throw this.#failure("EVP_PKEY_CTX_set_rsa_padding");
  }

  #setPss(context: Pointer, hash: HashName, saltLength: number): void {
    const { symbols } = this.#lib;
    const md = this.#digests[hash];
    this.#setPadding(context, RSA_PKCS1_PSS_PADDING);
    if (symbols.EVP_PKEY_CTX_set_signature_md(context, md) !== 1) throw this.#failure("EVP_PKEY_CTX_set_signature_md");
    if (symbols.EVP_PKEY_CTX_set_rsa_mgf1_md(context, md) !== 1) throw this.#failure("EVP_PKEY_CTX_set_rsa_mgf1_md");
    if (symbols.EVP_PKEY_CTX_set_rsa_pss_saltlen(context, saltLength) !== 1) throw this.#failure("EVP_PKEY_CTX_set_rsa_pss_saltlen");
  }

  #setPkcs1Decryption(context: Pointer): void {
    this.#setPadding(context, RSA_PKCS1_PADDING);
    if (this.#lib.symbols.EVP_PKEY_CTX_set_params(context, this.#pkcs1Decryption) !== 1) throw this.#failure("EVP_PKEY_CTX_set_params");
  }

  #setOaep(context: Pointer, hash: HashName): void {
    const { symbols } = this.#lib;
    const md = this.#digests[hash];
    this.#setPadding(context, RSA_PKCS1_OAEP_PADDING);
    if (symbols.EVP_PKEY_CTX_set_rsa_oaep_md(context, md) !== 1) throw this.#failure("EVP_PKEY_CTX_set_rsa_oaep_md");
    if (symbols.EVP_PKEY_CTX_set_rsa_mgf1_md(context, md) !== 1) throw this.#failure("EVP_PKEY_CTX_set_rsa_mgf1_md");
  }

  /** Returns an Error naming the failed libcrypto call and its queued errors, which carry no key material. */
  #failure(call: string): Error {
    const detail = this.#lib.takeErrors();
    return new Error(`libcrypto ${call} failed${detail === "" ? "" : `: ${detail}`}`);
  }
}

/** Returns `text` as a NUL-terminated C string. */
function cString(text: string): Bytes {
  const encoded = new TextEncoder().encode(text);
  const out = new Uint8Array(encoded.length + 1);
  out.set(encoded);
  return out;
}
