/**
 * DKEK share files as `sc-hsm-tool --create-dkek-share` writes them: 64 bytes,
 *
 *   "Salted__" [8] ‖ salt [8] ‖ AES-256-CBC with PKCS#7 padding (share [32]) [48]
 *
 * Key and IV come from OpenSSL's EVP_BytesToKey with MD5 and 10,000,000
 * iterations: D1 = MD5^count(password ‖ salt), Di = MD5^count(D(i−1) ‖ password ‖ salt),
 * key = the first 32 bytes of D1 ‖ D2 ‖ D3, IV = the next 16. MD5^count hashes
 * once and then re-hashes the 16-byte digest count − 1 times.
 *
 * The device never receives this format: only host tools read or write it. With the
 * default count one derivation takes about 30 s in JavaScript (30 million MD5
 * calls at about 1 µs each, measured with Node 20 on one x86-64 core).
 */

import { cbc } from "@noble/ciphers/aes.js";
import { md5 } from "@noble/hashes/legacy.js";

import { concatBytes, utf8ToBytes, wipe } from "./bytes.ts";
import { DKEK_LENGTH } from "./dkek.ts";

/** Iteration count sc-hsm-tool uses for share files. */
export const DKEK_SHARE_ITERATIONS = 10_000_000;

/** Size of a share file, bytes. */
export const DKEK_SHARE_FILE_LENGTH = 64;

const MAGIC = utf8ToBytes("Salted__");
const SALT_LENGTH = 8;
const KEY_LENGTH = 32;
const IV_LENGTH = 16;

/** Thrown for a file that is not a share file, or a wrong password. */
export class DkekShareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DkekShareError";
  }
}

export interface DkekShareOptions {
  /** EVP_BytesToKey iteration count; defaults to DKEK_SHARE_ITERATIONS. */
  iterations?: number;
}

/** Password bytes: a string is taken as UTF-8. */
export type SharePassword = string | Uint8Array;

/** Encrypts a 32-byte DKEK share into a share file under `password` with the 8-byte `salt`. */
export function encryptDkekShare(share: Uint8Array, password: SharePassword, salt: Uint8Array, options: DkekShareOptions = {}): Uint8Array {
  if (share.length !== DKEK_LENGTH) throw new RangeError(`DKEK share must be ${DKEK_LENGTH} bytes, got ${share.length}`);
  if (salt.length !== SALT_LENGTH) throw new RangeError(`salt must be ${SALT_LENGTH} bytes, got ${salt.length}`);

  const { key, iv } = bytesToKey(passwordBytes(password), salt, iterationsOf(options));
  try {
    return concatBytes(MAGIC, salt, cbc(key, iv).encrypt(share));
  } finally {
    wipe(key, iv);
  }
}

/** Decrypts a share file and returns the 32-byte share. Throws DkekShareError for a malformed file or a wrong password. */
export function decryptDkekShare(file: Uint8Array, password: SharePassword, options: DkekShareOptions = {}): Uint8Array {
  if (file.length !== DKEK_SHARE_FILE_LENGTH) {
    throw new DkekShareError(`DKEK share file must be ${DKEK_SHARE_FILE_LENGTH} bytes, got ${file.length}`);
  }
  if (!MAGIC.every((byte, i) => file[i] === byte)) throw new DkekShareError('not a DKEK share file: it does not start with "Salted__"');

  const salt = file.subarray(MAGIC.length, MAGIC.length + SALT_LENGTH);
  const { key, iv } = bytesToKey(passwordBytes(password), salt, iterationsOf(options));
  let share: Uint8Array;
  try {
    share = cbc(key, iv).decrypt(file.subarray(MAGIC.length + SALT_LENGTH));
  } catch {
    throw new DkekShareError("DKEK share file does not decrypt: wrong password");
  } finally {
    wipe(key, iv);
  }
  if (share.length !== DKEK_LENGTH) {
    wipe(share);
    throw new DkekShareError(`DKEK share file decrypts to ${share.length} bytes instead of ${DKEK_LENGTH}: wrong password`);
  }
  return share;
}

/** OpenSSL EVP_BytesToKey(AES-256-CBC, MD5, salt, password, count). */
function bytesToKey(password: Uint8Array, salt: Uint8Array, count: number): { key: Uint8Array; iv: Uint8Array } {
  const blocks: Uint8Array[] = [];
  let previous = new Uint8Array(0);
  while (blocks.length * 16 < KEY_LENGTH + IV_LENGTH) {
    let digest = md5(concatBytes(previous, password, salt));
    for (let i = 1; i < count; i++) digest = md5(digest);
    blocks.push(digest);
    previous = digest;
  }
  const material = concatBytes(...blocks);
  const result = { key: material.slice(0, KEY_LENGTH), iv: material.slice(KEY_LENGTH, KEY_LENGTH + IV_LENGTH) };
  wipe(material, ...blocks);
  return result;
}

function passwordBytes(password: SharePassword): Uint8Array {
  return typeof password === "string" ? utf8ToBytes(password) : password;
}

function iterationsOf(options: DkekShareOptions): number {
  const count = options.iterations ?? DKEK_SHARE_ITERATIONS;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`iterations must be a positive integer, got ${count}`);
  return count;
}
