/**
 * Session keys of chip authentication with id-CA-ECDH-AES-CBC-CMAC-128, as the
 * SmartCard-HSM derives them (the BSI TR-03110 key derivation with SHA-1):
 *
 *   K_enc = SHA-1(Z ‖ nonce ‖ 00 00 00 01)[0..15]
 *   K_mac = SHA-1(Z ‖ nonce ‖ 00 00 00 02)[0..15]
 *
 * Z is the x-coordinate of the ECDH shared point and nonce the 8 random bytes
 * the card returns in GENERAL AUTHENTICATE.
 */
import { cmac } from "@noble/ciphers/aes.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { concatBytes, encodeTlv } from "@hsmkit/tlv";
import { SecureMessagingError } from "./errors.ts";

/** DER value of id-CA-ECDH-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.3.2.2). */
export const ID_CA_ECDH_AES_CBC_CMAC_128 = Uint8Array.of(0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02);

/** Length of the card's nonce in bytes. */
export const NONCE_LENGTH = 8;

/** Length of the authentication token and of every SM MAC in bytes. */
export const MAC_LENGTH = 8;

/** AES-128 keys of one secure-messaging session. */
export interface SessionKeys {
  /** Encryption key: AES-128-CBC of DO 87, and the IV as AES-128-ECB(K_enc, SSC). */
  readonly kEnc: Uint8Array;
  /** MAC key: AES-128-CMAC of every command and response, truncated to 8 bytes. */
  readonly kMac: Uint8Array;
}

/** Derives K_enc and K_mac from the shared secret Z and the card's nonce. */
export function deriveSessionKeys(sharedSecret: Uint8Array, nonce: Uint8Array): SessionKeys {
  if (sharedSecret.length === 0) throw new SecureMessagingError("malformed", "invalid shared secret: empty");
  if (nonce.length !== NONCE_LENGTH) throw new SecureMessagingError("malformed", `invalid nonce: ${nonce.length} bytes, expected ${NONCE_LENGTH}`);

  const derive = (counter: number) => sha1(concatBytes(sharedSecret, nonce, Uint8Array.of(0, 0, 0, counter))).slice(0, 16);
  return { kEnc: derive(1), kMac: derive(2) };
}

/**
 * Returns the authentication token T that proves the card derived the same keys:
 * AES-128-CMAC(K_mac, 7F49 { 06 <protocol OID>, 86 <PK_PCD> })[0..7], where PK_PCD
 * is the host's ephemeral public key as sent. For the 65-byte points of 256-bit
 * curves this is exactly the firmware's input, which hard-codes the lengths 4F and 41.
 */
export function authenticationToken(kMac: Uint8Array, ephemeralPublicKey: Uint8Array, protocol = ID_CA_ECDH_AES_CBC_CMAC_128): Uint8Array {
  const input = encodeTlv(0x7f49, [encodeTlv(0x06, protocol), encodeTlv(0x86, ephemeralPublicKey)]);
  return cmac(input, kMac).slice(0, MAC_LENGTH);
}
