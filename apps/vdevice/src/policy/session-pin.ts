/**
 * Session PIN (SmartCard-HSM GENERATE SESSION PIN): a random PIN the card returns
 * after the user PIN was verified. It then opens the user session in place of
 * the user PIN until the card is reset or powered off, or until it is cleared. It survives SELECT of the applet, which is OpenSC's logout.
 *
 * The card keeps the user PIN only sealed under a key derived from the session
 * PIN (AES-256-GCM), so the session PIN is needed to recover it; both live in
 * memory only.
 */
import { gcm } from "@noble/ciphers/aes.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** Length of a session PIN, bytes. */
export const SESSION_PIN_LENGTH = 16;

const NONCE_LENGTH = 12;
const KEY_LABEL = new TextEncoder().encode("hsmkit session PIN v1");

export class SessionPin {
  #sealedUserPin: { nonce: Uint8Array; ciphertext: Uint8Array } | undefined;
  #verifiedUserPin: Uint8Array | undefined;

  /** Whether a session PIN is set. */
  get active(): boolean {
    return this.#sealedUserPin !== undefined;
  }

  /** Keeps the user PIN that VERIFY just accepted, for a following GENERATE SESSION PIN in the same session. */
  rememberVerifiedPin(pin: Uint8Array): void {
    this.forgetVerifiedPin();
    this.#verifiedUserPin = pin.slice();
  }

  /** Wipes the remembered user PIN (every PIN check and SELECT does this). */
  forgetVerifiedPin(): void {
    this.#verifiedUserPin?.fill(0);
    this.#verifiedUserPin = undefined;
  }

  /**
   * Creates a session PIN for the user PIN verified in this session and returns
   * it, or undefined when no user PIN was verified since the last SELECT.
   */
  generate(random: (length: number) => Uint8Array): Uint8Array | undefined {
    if (this.#verifiedUserPin === undefined) return undefined;

    const sessionPin = random(SESSION_PIN_LENGTH);
    const nonce = random(NONCE_LENGTH);
    const key = deriveKey(sessionPin);
    this.#sealedUserPin = { nonce, ciphertext: gcm(key, nonce).encrypt(this.#verifiedUserPin) };
    key.fill(0);
    return sessionPin;
  }

  /** Returns the user PIN when `candidate` is the session PIN, else undefined. */
  open(candidate: Uint8Array): Uint8Array | undefined {
    const sealed = this.#sealedUserPin;
    if (sealed === undefined || candidate.length !== SESSION_PIN_LENGTH) return undefined;

    const key = deriveKey(candidate);
    try {
      return gcm(key, sealed.nonce).decrypt(sealed.ciphertext);
    } catch {
      return undefined;
    } finally {
      key.fill(0);
    }
  }

  /** Clears the session PIN (card reset, power-off, explicit clear, a changed user PIN). */
  clear(): void {
    this.#sealedUserPin?.ciphertext.fill(0);
    this.#sealedUserPin = undefined;
    this.forgetVerifiedPin();
  }
}

function deriveKey(sessionPin: Uint8Array): Uint8Array {
  const input = new Uint8Array(KEY_LABEL.length + sessionPin.length);
  input.set(KEY_LABEL);
  input.set(sessionPin, KEY_LABEL.length);
  return sha256(input);
}
