/**
 * The HD cipher of CIPHER SYMMETRIC (OID 1.3.6.1.4.1.54392.5.1771, P2 51
 * encrypt / 52 decrypt), keyed by the pending SLIP-21 node. This is the
 * SLIP-0011 "cipher key value" construction:
 *
 *   H  = HMAC-SHA512(key = node key N[32..64], msg = AAD)
 *   K  = H[0..32]                                  AES-256 key
 *   IV = tag 82 when present and non-empty, else H[32..48]
 *   out = AES-256-CBC(K, IV, data), no padding
 */
import { CardError, SW } from "@hsmkit/apdu";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { AES_BLOCK, aesDecrypt, aesEncrypt } from "../crypto/aes-modes.ts";
import type { SessionState } from "../hsm/session.ts";
import { HD_TYPE, takePendingNode, wipePendingNode } from "./pending-node.ts";

export interface HdCipherRequest {
  /** Tag 81: the data, a multiple of 16 bytes. */
  input: Uint8Array;
  /** Tag 82: the IV; absent or empty selects the derived IV. */
  iv?: Uint8Array;
  /** Tag 83: the AAD the key is derived from (pypicohsm appends "E1"/"E0" and "D1"/"D0"). */
  aad?: Uint8Array;
}

/**
 * Encrypts or decrypts with the pending SLIP-21 node and consumes it, also on
 * failure. Throws 6A80 without a pending SLIP-21 node, 6700 for an IV that is
 * not 16 bytes, and 6400 for data that is not a multiple of 16 bytes.
 */
export function hdCipher(session: SessionState, request: HdCipherRequest, encrypt: boolean): Uint8Array {
  const node = takePendingNode(session);
  let derived: Uint8Array | undefined;
  try {
    if (!node || node.type !== HD_TYPE.SYMMETRIC) {
      throw new CardError(SW.WRONG_DATA, "the HD cipher needs a pending SLIP-21 node (load one with BIP/SLIP P1 10 first)");
    }
    if (request.input.length % AES_BLOCK !== 0) {
      throw new CardError(SW.EXECUTION_ERROR, `HD cipher data must be a multiple of 16 bytes, got ${request.input.length}`);
    }
    if (request.iv && request.iv.length !== 0 && request.iv.length !== AES_BLOCK) {
      throw new CardError(SW.WRONG_LENGTH, `HD cipher IV must be 16 bytes, got ${request.iv.length}`);
    }

    derived = hmac(sha512, node.key, request.aad ?? new Uint8Array(0));
    const iv = request.iv && request.iv.length > 0 ? request.iv : derived.subarray(32, 48);
    const aes = { mode: "cbc" as const, key: derived.subarray(0, 32), iv, input: request.input };
    return encrypt ? aesEncrypt(aes) : aesDecrypt(aes);
  } finally {
    derived?.fill(0);
    wipePendingNode(node);
  }
}
