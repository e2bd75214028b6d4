/**
 * Secure lock (device option 0400): binds the device to one host secret.
 *
 * Key agreement (EXTRAS 3A 01): the host sends an ephemeral P-256 point, the
 * device returns its own, and both derive 44 bytes with
 * HKDF-SHA-256(salt none, IKM = ECDH x, info = host point): bytes 0..11 are the
 * ChaCha20-Poly1305 nonce, 12..43 the key. The next 3A 02/03/04 carries the
 * 32-byte lock secret encrypted with them (AAD = host point); the agreement is
 * wiped after that one use.
 *
 * Persistent: `state/secure-lock` holds SHA-256 of the secret while the lock is
 * enabled, and the keystore seals both MKEK copies once more under a key
 * derived from the secret (Keystore.enableLock). So a copied data directory,
 * even with its device secret, opens no key with any PIN unless the host
 * secret is copied too. While enabled and not unlocked in this session (3A 03
 * with the same secret), key material is refused (6400) and INITIALIZE is
 * refused (6982).
 *
 * Key material refused while locked is 6400, the status of "no PIN session",
 * not 6982: 6982 means the PIN is not verified, yet it is, and only the host
 * secret can open the MKEK.
 *
 * SELECT of the applet forgets the unlock: it resets `secureLockOpen` and the
 * keystore's lock secret.
 */
import { CardError, SW } from "@hsmkit/apdu";
import type { Keystore } from "@hsmkit/keystore";
import { toHex } from "@hsmkit/tlv";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { SessionState } from "../hsm/session.ts";

export const SECURE_LOCK_RECORD = "state/secure-lock";

/** Encrypted lock secret: 32 bytes of secret and a 16-byte Poly1305 tag. */
export const SEALED_SECRET_LENGTH = 48;

const POINT_LENGTH = 65;

interface Agreement {
  hostPoint: Uint8Array;
  key: Uint8Array;
  nonce: Uint8Array;
}

/** Key agreements waiting for their one use, per card session. */
const agreements = new WeakMap<SessionState, Agreement>();

/**
 * Runs the device side of the key agreement for `hostPoint` and returns the
 * device's ephemeral point. A point that is not 65 bytes or not on P-256 is 6700.
 */
export function startAgreement(session: SessionState, hostPoint: Uint8Array): Uint8Array {
  if (hostPoint.length !== POINT_LENGTH || !p256.utils.isValidPublicKey(hostPoint, false)) {
    throw new CardError(SW.WRONG_LENGTH, "secure lock: the host key must be an uncompressed P-256 point (65 bytes)");
  }

  const secretKey = p256.utils.randomSecretKey();
  const shared = p256.getSharedSecret(secretKey, hostPoint).subarray(1);
  const okm = hkdf(sha256, shared, undefined, hostPoint, 44);
  forget(session);
  agreements.set(session, { hostPoint: hostPoint.slice(), nonce: okm.slice(0, 12), key: okm.slice(12, 44) });

  const devicePoint = p256.getPublicKey(secretKey, false);
  secretKey.fill(0);
  shared.fill(0);
  okm.fill(0);
  return devicePoint;
}

/**
 * Decrypts the lock secret with the pending agreement and wipes it. No pending
 * agreement is 6986; a wrong length or a failed decryption is 6700.
 */
export function openLockSecret(session: SessionState, sealed: Uint8Array): Uint8Array {
  const agreement = agreements.get(session);
  if (!agreement) throw new CardError(SW.COMMAND_NOT_ALLOWED, "secure lock: run the key agreement (3A 01) first");
  if (sealed.length !== SEALED_SECRET_LENGTH) throw new CardError(SW.WRONG_LENGTH, `secure lock: the sealed secret is ${SEALED_SECRET_LENGTH} bytes`);

  agreements.delete(session);
  try {
    return chacha20poly1305(agreement.key, agreement.nonce, agreement.hostPoint).decrypt(sealed);
  } catch {
    throw new CardError(SW.WRONG_LENGTH, "secure lock: the sealed secret does not decrypt");
  } finally {
    agreement.key.fill(0);
  }
}

export function forget(session: SessionState): void {
  agreements.get(session)?.key.fill(0);
  agreements.delete(session);
}

/** Returns the stored hash of the lock secret, hex, or undefined while the lock is off. */
export async function readLockHash(keystore: Keystore): Promise<string | undefined> {
  const bytes = await keystore.getFile(SECURE_LOCK_RECORD);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

export async function writeLockHash(keystore: Keystore, secret: Uint8Array): Promise<void> {
  await keystore.putFile(SECURE_LOCK_RECORD, new TextEncoder().encode(hashSecret(secret)));
}

export function hashSecret(secret: Uint8Array): string {
  return toHex(sha256(secret));
}
