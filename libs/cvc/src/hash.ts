/** Message digests by WebCrypto name, computed with @noble/hashes (synchronous, all runtimes). */

import { sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { HashName } from "./oid.ts";

const HASHES = { "SHA-1": sha1, "SHA-224": sha224, "SHA-256": sha256, "SHA-384": sha384, "SHA-512": sha512 } as const;

/** Returns the digest of `message`. */
export function digest(hash: HashName, message: Uint8Array): Uint8Array {
  return HASHES[hash](message);
}

/** Returns the digest length in bytes. */
export function digestLength(hash: HashName): number {
  return HASHES[hash].outputLen;
}
