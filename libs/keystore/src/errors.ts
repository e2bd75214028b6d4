/** Thrown when an operation needs the MKEK and no PIN has unlocked it. */
export class KeystoreLockedError extends Error {
  constructor(message = "keystore is locked: verify the user PIN or SO-PIN first") {
    super(message);
    this.name = "KeystoreLockedError";
  }
}

/**
 * Thrown when the MKEK copies carry the secure-lock layer and the lock secret
 * is missing or wrong, or a lock operation does not fit the lock state. A
 * KeystoreLockedError, so callers that refuse locked key material refuse this too.
 */
export class KeystoreSecureLockError extends KeystoreLockedError {
  constructor(message: string) {
    super(message);
    this.name = "KeystoreSecureLockError";
  }
}

/**
 * Thrown when stored bytes fail authentication or do not parse: a tampered,
 * truncated, renamed or foreign record, or a store opened with another device
 * secret.
 */
export class KeystoreIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeystoreIntegrityError";
  }
}

/** Thrown by PIN operations on a PIN that INITIALIZE has not set yet. */
export class KeystoreNotInitializedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeystoreNotInitializedError";
  }
}
