/**
 * The Keystore implementation: PIN records and the MKEK, sealed records, public
 * files and the transaction that stages them.
 */

import { wipe } from "./bytes.ts";
import { KeystoreIntegrityError, KeystoreLockedError, KeystoreNotInitializedError, KeystoreSecureLockError } from "./errors.ts";
import type {
  InitializeOptions,
  Keystore,
  KeystoreOptions,
  PinCheckResult,
  PinReference,
  PinStatus,
  StorageBackend,
} from "./keystore.ts";
import {
  addLockLayer,
  checkPin,
  checkScryptParams,
  createPinRecord,
  decodePinRecord,
  DEFAULT_SCRYPT,
  deriveLockKey,
  encodePinRecord,
  matchPin,
  MKEK_LENGTH,
  openMkekCopy,
  removeLockLayer,
  type PinRecord,
  type ScryptParams,
} from "./pin-record.ts";
import { deriveKey, HEADER_NAME, parseHeaderStoreId, RootKeys, STORE_ID_LENGTH } from "./root.ts";
import { openRecord, SEALED_UNDER_DEVICE, SEALED_UNDER_MKEK, sealRecord, type SealFormat } from "./seal.ts";
import { Transaction } from "./transaction.ts";

/** Prefix of the backend names the keystore keeps for itself; callers cannot use it. */
export const RESERVED_PREFIX = "keystore/";

/** Retry counters of a PIN that INITIALIZE has not set (user 3, SO 15, as the firmware). */
export const DEFAULT_RETRIES: Readonly<Record<PinReference, number>> = Object.freeze({ user: 3, so: 15 });

const PIN_NAMES: Readonly<Record<PinReference, string>> = Object.freeze({
  user: "keystore/pin/user",
  so: "keystore/pin/so",
});

const NONCE_LENGTH = 12;
const EMPTY = new Uint8Array(0);

/** Opens (or creates, when the backend is empty) a keystore. */
export async function openKeystore(backend: StorageBackend, options: KeystoreOptions): Promise<Keystore> {
  const random = options.random ?? defaultRandom;
  const scrypt = { ...(options.scrypt ?? DEFAULT_SCRYPT) };
  checkScryptParams(scrypt);

  const root = await openRoot(backend, options.deviceSecret, random);
  const committedPins = new Map<PinReference, PinRecord | undefined>();
  for (const ref of ["user", "so"] as const) {
    const bytes = await backend.get(PIN_NAMES[ref]);
    committedPins.set(ref, bytes === undefined ? undefined : decodePinRecord(root, PIN_NAMES[ref], bytes));
  }
  return new StoreKeystore(backend, root, random, scrypt, committedPins);
}

/** Checks the header against the device secret, or writes a new header into an empty backend. */
async function openRoot(
  backend: StorageBackend,
  deviceSecret: Uint8Array,
  random: (length: number) => Uint8Array,
): Promise<RootKeys> {
  const header = await backend.get(HEADER_NAME);
  if (header !== undefined) {
    const root = new RootKeys(deviceSecret, parseHeaderStoreId(header));
    root.checkHeader(header);
    return root;
  }

  const names = await backend.list();
  if (names.length > 0) {
    throw new KeystoreIntegrityError(
      `keystore header "${HEADER_NAME}" is missing although the storage contains ${names.length} records: not a keystore, or the header was deleted`,
    );
  }
  const root = new RootKeys(deviceSecret, random(STORE_ID_LENGTH));
  await backend.commit(new Map([[HEADER_NAME, root.encodeHeader()]]));
  return root;
}

function defaultRandom(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

class StoreKeystore implements Keystore {
  readonly #backend: StorageBackend;
  readonly #root: RootKeys;
  readonly #random: (length: number) => Uint8Array;
  readonly #scrypt: ScryptParams;
  readonly #transaction: Transaction;
  /** PIN records as committed to the backend. Staged copies are in the transaction. */
  readonly #committedPins: Map<PinReference, PinRecord | undefined>;
  #mkek: Uint8Array | undefined;
  /** AES-256-GCM key of MKEK-sealed records, derived from the MKEK while unlocked. */
  #secretRecordKey: Uint8Array | undefined;
  /** Key of the secure-lock layer, set for this session by setLockSecret or enableLock. */
  #lockKey: Uint8Array | undefined;
  /**
   * KEK of a PIN verified while the lock layer could not be opened; kept, like
   * the firmware's PIN token, until setLockSecret opens the copy or lock() runs.
   */
  #pendingKek: { ref: PinReference; kek: Uint8Array } | undefined;
  /** Serialises PIN checks and commits so that no two guesses see the same counter. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    backend: StorageBackend,
    root: RootKeys,
    random: (length: number) => Uint8Array,
    scrypt: ScryptParams,
    committedPins: Map<PinReference, PinRecord | undefined>,
  ) {
    this.#backend = backend;
    this.#root = root;
    this.#random = random;
    this.#scrypt = scrypt;
    this.#transaction = new Transaction(backend);
    this.#committedPins = committedPins;
  }

  // --- PINs and the MKEK ---------------------------------------------------

  pinStatus(ref: PinReference): PinStatus {
    const record = this.#currentPin(ref);
    if (record === undefined) {
      return { initialized: false, remaining: DEFAULT_RETRIES[ref], max: DEFAULT_RETRIES[ref] };
    }
    return { initialized: true, remaining: record.remaining, max: record.max, pinLength: record.pinLength };
  }

  async verifyPin(ref: PinReference, pin: Uint8Array): Promise<PinCheckResult> {
    return this.#exclusive(() => this.#checkPin(ref, pin));
  }

  async changePin(ref: PinReference, oldPin: Uint8Array, newPin: Uint8Array): Promise<PinCheckResult> {
    checkPin(newPin, "new PIN");
    return this.#exclusive(async () => {
      const result = await this.#checkPin(ref, oldPin);
      if (!result.ok) return result;

      const current = this.#requirePin(ref);
      const mkek = this.#requireMkek();
      const record = await createPinRecord(this.#root, PIN_NAMES[ref], newPin, mkek, current.max, this.#scrypt, this.#random, this.#lockKeyForNewRecords());
      this.#stagePin(ref, record);
      return result;
    });
  }

  async setUserPin(newPin: Uint8Array): Promise<void> {
    checkPin(newPin, "new user PIN");
    return this.#exclusive(async () => {
      const mkek = this.#requireMkek();
      const current = this.#requirePin("user");
      const record = await createPinRecord(this.#root, PIN_NAMES.user, newPin, mkek, current.max, this.#scrypt, this.#random, this.#lockKeyForNewRecords());
      this.#stagePin("user", record);
    });
  }

  async resetUserRetries(): Promise<void> {
    return this.#exclusive(async () => {
      const current = this.#requirePin("user");
      this.#stagePin("user", { ...current, remaining: current.max });
    });
  }

  async initialize(options: InitializeOptions): Promise<void> {
    checkPin(options.userPin, "user PIN");
    checkPin(options.soPin, "SO-PIN");
    const userRetries = checkRetries(options.userRetries, "userRetries");
    const soRetries = checkRetries(options.soRetries ?? DEFAULT_RETRIES.so, "soRetries");

    return this.#exclusive(async () => {
      const lockKey = this.#lockKeyForNewRecords();
      const reuse = options.reuseMkek === true && this.#mkek !== undefined;
      const mkek = reuse ? this.#mkek!.slice() : this.#random(MKEK_LENGTH);
      const user = await createPinRecord(this.#root, PIN_NAMES.user, options.userPin, mkek, userRetries, this.#scrypt, this.#random, lockKey);
      const so = await createPinRecord(this.#root, PIN_NAMES.so, options.soPin, mkek, soRetries, this.#scrypt, this.#random, lockKey);

      for (const name of await this.#transaction.list()) {
        if (name === HEADER_NAME) continue;
        if (name.startsWith(RESERVED_PREFIX) || options.keep?.(name) !== true) this.#transaction.stage(name, null);
      }
      this.#stagePin("user", user);
      this.#stagePin("so", so);
      await this.#commitLocked();
      this.#unlock(mkek);
    });
  }

  get unlocked(): boolean {
    return this.#mkek !== undefined;
  }

  lock(): void {
    wipe(this.#mkek, this.#secretRecordKey, this.#pendingKek?.kek);
    this.#mkek = undefined;
    this.#secretRecordKey = undefined;
    this.#pendingKek = undefined;
  }

  // --- secure lock ---------------------------------------------------------

  get secureLocked(): boolean {
    return this.#currentPin("so")?.secureLocked === true || this.#currentPin("user")?.secureLocked === true;
  }

  setLockSecret(secret: Uint8Array | undefined): void {
    if (secret === undefined) {
      if (this.secureLocked) this.lock();
      wipe(this.#lockKey);
      this.#lockKey = undefined;
      return;
    }

    const lockKey = deriveLockKey(this.#root, secret);
    try {
      for (const ref of ["so", "user"] as const) {
        const record = this.#currentPin(ref);
        if (record?.secureLocked) removeLockLayer(PIN_NAMES[ref], record, lockKey);
      }
    } catch (error) {
      wipe(lockKey);
      throw error;
    }
    wipe(this.#lockKey);
    this.#lockKey = lockKey;
    this.#openPending();
  }

  async enableLock(secret: Uint8Array): Promise<void> {
    return this.#exclusive(async () => {
      if (this.secureLocked) throw new KeystoreSecureLockError("the secure lock is already enabled");
      const records = this.#requireBothPins();
      const lockKey = deriveLockKey(this.#root, secret);
      for (const [ref, record] of records) this.#stagePin(ref, addLockLayer(PIN_NAMES[ref], record, lockKey, this.#random(NONCE_LENGTH)));
      wipe(this.#lockKey);
      this.#lockKey = lockKey;
    });
  }

  async disableLock(): Promise<void> {
    return this.#exclusive(async () => {
      if (!this.secureLocked) return;
      const records = this.#requireBothPins();
      const lockKey = this.#requireLockKey();
      const plain = records.map(([ref, record]) => [ref, removeLockLayer(PIN_NAMES[ref], record, lockKey)] as const);
      for (const [ref, record] of plain) this.#stagePin(ref, record);
      this.#openPending();
    });
  }

  // --- sealed secrets ------------------------------------------------------

  async putSecret(name: string, secret: Uint8Array, metadata: Uint8Array = EMPTY): Promise<void> {
    checkName(name);
    this.#seal(this.#requireSecretRecordKey(), SEALED_UNDER_MKEK, name, secret, metadata);
  }

  async getSecret(name: string, metadata: Uint8Array = EMPTY): Promise<Uint8Array | undefined> {
    checkName(name);
    const key = this.#requireSecretRecordKey();
    const record = await this.#transaction.get(name);
    return record === undefined ? undefined : openRecord(key, SEALED_UNDER_MKEK, name, record, metadata);
  }

  async putDeviceSecret(name: string, secret: Uint8Array, metadata: Uint8Array = EMPTY): Promise<void> {
    checkName(name);
    this.#seal(this.#root.deviceRecordKey, SEALED_UNDER_DEVICE, name, secret, metadata);
  }

  async getDeviceSecret(name: string, metadata: Uint8Array = EMPTY): Promise<Uint8Array | undefined> {
    checkName(name);
    const record = await this.#transaction.get(name);
    return record === undefined ? undefined : openRecord(this.#root.deviceRecordKey, SEALED_UNDER_DEVICE, name, record, metadata);
  }

  // --- public files --------------------------------------------------------

  async getFile(name: string): Promise<Uint8Array | undefined> {
    checkName(name);
    return this.#transaction.get(name);
  }

  async putFile(name: string, content: Uint8Array): Promise<void> {
    checkName(name);
    checkBytes(content, "file content");
    this.#transaction.stage(name, content);
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    this.#transaction.stage(name, null);
  }

  async list(): Promise<string[]> {
    const names = await this.#transaction.list();
    return names.filter((name) => !name.startsWith(RESERVED_PREFIX));
  }

  // --- transactions --------------------------------------------------------

  async commit(): Promise<void> {
    return this.#exclusive(() => this.#commitLocked());
  }

  rollback(): void {
    this.#transaction.rollback();
  }

  // --- internals -----------------------------------------------------------

  /**
   * Checks a PIN with VERIFY semantics. A blocked PIN is not checked. Otherwise
   * the lowered counter is committed before scrypt runs, and a match commits
   * the restored counter and unlocks the MKEK.
   */
  async #checkPin(ref: PinReference, pin: Uint8Array): Promise<PinCheckResult> {
    checkPin(pin, ref === "user" ? "user PIN" : "SO-PIN");
    const record = this.#requirePin(ref);
    if (record.remaining === 0) return { ok: false, remaining: 0 };

    await this.#updateCounter(ref, (r) => Math.max(0, r.remaining - 1));
    const kek = await matchPin(this.#root, record, pin);
    if (kek === undefined) return { ok: false, remaining: record.remaining - 1 };

    await this.#updateCounter(ref, (r) => r.max);
    if (record.secureLocked && this.#lockKey === undefined) {
      this.lock();
      this.#pendingKek = { ref, kek };
      return { ok: true, lockSecretNeeded: true };
    }
    try {
      this.#unlock(openMkekCopy(PIN_NAMES[ref], record, kek, this.#lockKey));
    } finally {
      wipe(kek);
    }
    return { ok: true };
  }

  /** Opens the MKEK copy of a PIN verified before the lock secret was set, if any. */
  #openPending(): void {
    const pending = this.#pendingKek;
    if (pending === undefined) return;
    this.#pendingKek = undefined;
    try {
      this.#unlock(openMkekCopy(PIN_NAMES[pending.ref], this.#requirePin(pending.ref), pending.kek, this.#lockKey));
    } finally {
      wipe(pending.kek);
    }
  }

  /** The lock key new PIN records need: the session's while the lock is on, none while it is off. */
  #lockKeyForNewRecords(): Uint8Array | undefined {
    return this.secureLocked ? this.#requireLockKey() : undefined;
  }

  #requireLockKey(): Uint8Array {
    if (this.#lockKey === undefined) {
      throw new KeystoreSecureLockError("the secure lock is enabled: set the lock secret (unlock the secure lock) first");
    }
    return this.#lockKey;
  }

  /** Both PIN records as reads see them; throws KeystoreNotInitializedError when either is missing. */
  #requireBothPins(): [PinReference, PinRecord][] {
    return (["user", "so"] as const).map((ref) => [ref, this.#requirePin(ref)]);
  }

  /**
   * Applies a counter change to the committed PIN record, written to the backend
   * at once and alone, and to the staged copy if one exists. A guess therefore
   * counts whether the open transaction is later committed or rolled back.
   */
  async #updateCounter(ref: PinReference, remaining: (record: PinRecord) => number): Promise<void> {
    const name = PIN_NAMES[ref];
    const committed = this.#committedPins.get(ref);
    if (committed !== undefined) {
      const updated = { ...committed, remaining: remaining(committed) };
      await this.#backend.commit(new Map([[name, encodePinRecord(this.#root, name, updated)]]));
      this.#committedPins.set(ref, updated);
    }

    const staged = this.#transaction.staged(name);
    if (staged instanceof Uint8Array) {
      const record = decodePinRecord(this.#root, name, staged);
      this.#transaction.stage(name, encodePinRecord(this.#root, name, { ...record, remaining: remaining(record) }));
    }
  }

  async #commitLocked(): Promise<void> {
    const batch = await this.#transaction.commit();
    for (const ref of ["user", "so"] as const) {
      const value = batch.get(PIN_NAMES[ref]);
      if (value === null) this.#committedPins.set(ref, undefined);
      else if (value !== undefined) this.#committedPins.set(ref, decodePinRecord(this.#root, PIN_NAMES[ref], value));
    }
  }

  /** The PIN record as reads see it: the staged copy if any, else the committed one. */
  #currentPin(ref: PinReference): PinRecord | undefined {
    const staged = this.#transaction.staged(PIN_NAMES[ref]);
    if (staged === null) return undefined;
    if (staged !== undefined) return decodePinRecord(this.#root, PIN_NAMES[ref], staged);
    return this.#committedPins.get(ref);
  }

  #requirePin(ref: PinReference): PinRecord {
    const record = this.#currentPin(ref);
    if (record === undefined) {
      throw new KeystoreNotInitializedError(`the ${ref === "user" ? "user PIN" : "SO-PIN"} is not set: run initialize() first`);
    }
    return record;
  }

  #stagePin(ref: PinReference, record: PinRecord): void {
    this.#transaction.stage(PIN_NAMES[ref], encodePinRecord(this.#root, PIN_NAMES[ref], record));
  }

  #unlock(mkek: Uint8Array): void {
    this.lock();
    this.#mkek = mkek;
    this.#secretRecordKey = deriveKey(this.#root.storeHash, mkek, "RECORD/SECRET");
  }

  #requireMkek(): Uint8Array {
    if (this.#mkek === undefined) throw this.#lockedError();
    return this.#mkek;
  }

  #requireSecretRecordKey(): Uint8Array {
    if (this.#secretRecordKey === undefined) throw this.#lockedError();
    return this.#secretRecordKey;
  }

  /** Says why the MKEK is not in memory: no PIN verified, or a verified PIN waiting for the lock secret. */
  #lockedError(): KeystoreLockedError {
    if (this.#pendingKek !== undefined) {
      return new KeystoreSecureLockError("the PIN matched, but the MKEK is also sealed under the secure-lock secret: set the lock secret first");
    }
    return new KeystoreLockedError();
  }

  #seal(key: Uint8Array, format: SealFormat, name: string, secret: Uint8Array, metadata: Uint8Array): void {
    checkBytes(secret, "secret");
    checkBytes(metadata, "metadata");
    this.#transaction.stage(name, sealRecord(key, format, name, secret, metadata, this.#random(NONCE_LENGTH)));
  }

  /** Runs `task` after every task queued before it; a failure does not block later tasks. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0) throw new TypeError(`record name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new RangeError(`record name ${JSON.stringify(name)} uses the reserved prefix "${RESERVED_PREFIX}"`);
  }
}

function checkBytes(value: Uint8Array, what: string): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array, got ${typeof value}`);
}

function checkRetries(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 15) throw new RangeError(`${what} must be an integer from 1 to 15, got ${value}`);
  return value;
}
