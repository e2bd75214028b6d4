/**
 * Contract between the virtual device and the keystore: the interfaces live
 * here, the implementations in the files re-exported at the end.
 *
 * Terms: MKEK = master key-encryption key, a random 256-bit key that seals every
 * private or secret key. It is itself stored only sealed, once under a key
 * derived from the user PIN and once under a key derived from the SO-PIN.
 */

/** Storage of sealed records and public files; it receives only ciphertext and public data. */
export interface StorageBackend {
  /** Returns the stored bytes, or undefined when the name is absent. */
  get(name: string): Promise<Uint8Array | undefined>;

  /** Lists every stored name. */
  list(): Promise<string[]>;

  /**
   * Applies a batch: a Uint8Array value writes the name, null deletes it. Each
   * write must be atomic and durable before the promise resolves.
   */
  commit(changes: ReadonlyMap<string, Uint8Array | null>): Promise<void>;
}

export type PinReference = "user" | "so";

export interface PinStatus {
  initialized: boolean;
  /** Tries left; 0 means blocked. */
  remaining: number;
  max: number;
  /**
   * Length in bytes of the current PIN, present once initialized. CHANGE
   * REFERENCE DATA and RESET RETRY COUNTER use it to split `old || new`.
   */
  pinLength?: number;
}

/**
 * Result of a PIN check. `lockSecretNeeded` marks a matching PIN whose MKEK copy
 * also carries the secure-lock layer while no lock secret is set: the counter is
 * restored but the MKEK stays locked until setLockSecret.
 */
export type PinCheckResult = { ok: true; lockSecretNeeded?: true } | { ok: false; remaining: number };

export interface InitializeOptions {
  userPin: Uint8Array;
  soPin: Uint8Array;
  /** User PIN retry counter, 1..15. */
  userRetries: number;
  /** SO-PIN retry counter; the SmartCard-HSM uses 15. */
  soRetries?: number;
  /** Names of public files and sealed keys that INITIALIZE must keep. */
  keep?: (name: string) => boolean;
  /**
   * Keeps the current MKEK instead of creating one, when it is unlocked (the
   * firmware does this for a caller logged in before INITIALIZE). Kept records
   * sealed with putSecret stay readable only with this option.
   */
  reuseMkek?: boolean;
}

/**
 * The device's secrets at rest, over one StorageBackend. Names are chosen by
 * the caller (the virtual device uses e.g. "file/C401", "key/01").
 *
 * Public files are stored as they are; secrets (private and secret keys, the
 * device key) are sealed with an AEAD whose associated data binds the name and
 * the caller's public metadata, so a sealed record moved to another name or
 * paired with edited metadata fails to open.
 *
 * Reads see staged writes of the open transaction; `commit()` writes them in one
 * backend batch, `rollback()` drops them. A handler stages everything and
 * commits after its last check, so a rejected command changes nothing.
 */
export interface Keystore {
  // --- PINs and the MKEK ---------------------------------------------------

  pinStatus(ref: PinReference): PinStatus;

  /**
   * Checks a PIN. A mismatch lowers the retry counter durably before the
   * promise resolves; a match restores it and unlocks the MKEK for `ref`.
   * A blocked PIN (remaining 0) returns { ok: false, remaining: 0 } unchecked.
   *
   * The counter change is committed to the backend at once in a batch of its
   * own, never together with staged writes. It is also applied to a staged
   * copy of the PIN record, so a guess counts whether the open transaction is
   * later committed or rolled back. A mismatch leaves the lock state as it was.
   * Throws KeystoreNotInitializedError when the PIN has not been set.
   */
  verifyPin(ref: PinReference, pin: Uint8Array): Promise<PinCheckResult>;

  /** Checks `oldPin` as verifyPin does, then re-seals that PIN's MKEK copy under `newPin`. */
  changePin(ref: PinReference, oldPin: Uint8Array, newPin: Uint8Array): Promise<PinCheckResult>;

  /** Sets a new user PIN and restores its counter; needs the MKEK unlocked (by the SO-PIN). */
  setUserPin(newPin: Uint8Array): Promise<void>;

  /** Restores the user PIN retry counter to its maximum. */
  resetUserRetries(): Promise<void>;

  /**
   * Wipes everything except names for which `keep` returns true, creates a new
   * MKEK sealed under both PINs, and leaves it unlocked. An enabled secure lock
   * stays on and needs its secret set (KeystoreSecureLockError otherwise).
   */
  initialize(options: InitializeOptions): Promise<void>;

  /** Whether the MKEK is in memory (a PIN was verified since the last lock()). */
  readonly unlocked: boolean;

  /** Wipes the MKEK and every derived key from memory (the session's lock secret stays). */
  lock(): void;

  // --- secure lock ---------------------------------------------------------
  // While the lock is on, each PIN's MKEK copy is sealed once more under a key
  // derived from a 32-byte lock secret, so no PIN opens the MKEK without it.

  /** Whether the PIN records carry the secure-lock layer (staged writes included). */
  readonly secureLocked: boolean;

  /**
   * Sets the lock secret for this session, or forgets it (undefined; while the
   * lock is on this also locks the MKEK). A secret is checked against the
   * locked copies at once: a wrong one throws KeystoreSecureLockError and
   * changes nothing. A PIN verified before, whose copy waited for the secret,
   * unlocks the MKEK. A wrong length is a RangeError.
   */
  setLockSecret(secret: Uint8Array | undefined): void;

  /**
   * Stages both MKEK copies sealed once more under `secret` and sets it for
   * this session; no PIN is needed. Throws KeystoreSecureLockError when the
   * lock is already on, KeystoreNotInitializedError before initialize().
   */
  enableLock(secret: Uint8Array): Promise<void>;

  /**
   * Stages both MKEK copies without the lock layer; needs the lock secret set
   * (KeystoreSecureLockError). Does nothing while the lock is off.
   */
  disableLock(): Promise<void>;

  // --- sealed secrets ------------------------------------------------------

  /** Stages a secret sealed under the MKEK (throws KeystoreLockedError when locked). */
  putSecret(name: string, secret: Uint8Array, metadata?: Uint8Array): Promise<void>;

  /** Opens a secret sealed under the MKEK (KeystoreLockedError when locked, KeystoreIntegrityError when tampered). */
  getSecret(name: string, metadata?: Uint8Array): Promise<Uint8Array | undefined>;

  /** Stages a secret sealed under the device secret instead of the MKEK (the device key: usable without a PIN). */
  putDeviceSecret(name: string, secret: Uint8Array, metadata?: Uint8Array): Promise<void>;
  getDeviceSecret(name: string, metadata?: Uint8Array): Promise<Uint8Array | undefined>;

  // --- public files --------------------------------------------------------

  getFile(name: string): Promise<Uint8Array | undefined>;
  putFile(name: string, content: Uint8Array): Promise<void>;

  /** Stages the removal of a public file or a sealed secret. */
  delete(name: string): Promise<void>;

  /** Lists every name, staged writes included and staged deletes excluded. */
  list(): Promise<string[]>;

  // --- transactions --------------------------------------------------------

  commit(): Promise<void>;
  rollback(): void;
}

export interface KeystoreOptions {
  /**
   * 32 random bytes created at first start and kept outside the data
   * directory by the app; binds the store to this host (keystore.md's device
   * secret in place of the firmware's OTP key).
   */
  deviceSecret: Uint8Array;

  /** Random source; defaults to crypto.getRandomValues. */
  random?: (length: number) => Uint8Array;

  /** scrypt cost for PIN derivation; defaults are stated in the README. Tests may lower it. */
  scrypt?: { N: number; r: number; p: number };
}

export { openKeystore, DEFAULT_RETRIES, RESERVED_PREFIX } from "./store.ts";
export { KeystoreIntegrityError, KeystoreLockedError, KeystoreNotInitializedError, KeystoreSecureLockError } from "./errors.ts";
export { MemoryBackend } from "./memory-backend.ts";
export { DEFAULT_SCRYPT, LOCK_SECRET_LENGTH, type ScryptParams } from "./pin-record.ts";
export { DEVICE_SECRET_LENGTH } from "./root.ts";
export { addDkekShare, combineDkekShares, deriveBlobKeys, dkekKcv, DKEK_LENGTH, KCV_LENGTH, type BlobKeys } from "./dkek.ts";
export {
  AES_KEY_LENGTHS,
  decodeKeyBlob,
  encodeKeyBlob,
  KEY_BLOB_OID,
  KEY_BLOB_TYPE,
  keyBlobKcv,
  keyBlobType,
  KeyBlobError,
  type EncodeKeyBlobOptions,
  type KeyBlob,
  type KeyBlobErrorCode,
  type KeyBlobKey,
} from "./key-blob.ts";
export {
  decryptDkekShare,
  DKEK_SHARE_FILE_LENGTH,
  DKEK_SHARE_ITERATIONS,
  DkekShareError,
  encryptDkekShare,
  type DkekShareOptions,
  type SharePassword,
} from "./dkek-share.ts";
export { createPasswordShares, parseColonHex, recoverPassword, type PasswordShare } from "./password-shares.ts";
