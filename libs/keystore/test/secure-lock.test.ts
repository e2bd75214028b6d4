// The secure lock: a second seal of both MKEK copies under a 32-byte lock secret.
import { describe, expect, it } from "vitest";
import {
  KeystoreIntegrityError,
  KeystoreLockedError,
  KeystoreSecureLockError,
  MemoryBackend,
  type Keystore,
} from "../src/index.ts";
import { decodePinRecord, encodePinRecord } from "../src/pin-record.ts";
import { parseHeaderStoreId, RootKeys } from "../src/root.ts";
import { open, openInitialized, randomSecret, SO_PIN, USER_PIN, WRONG_PIN } from "./helpers.ts";

const SECRET_VALUE = new TextEncoder().encode("private key bytes");
const NEW_PIN = new TextEncoder().encode("112233");

interface LockedStore {
  backend: MemoryBackend;
  deviceSecret: Uint8Array;
  lockSecret: Uint8Array;
}

/** An initialized store holding one sealed secret, with the lock enabled and committed. */
async function lockedStore(): Promise<LockedStore> {
  const backend = new MemoryBackend();
  const deviceSecret = randomSecret();
  const lockSecret = randomSecret();
  const store = await openInitialized(backend, deviceSecret);
  await store.putSecret("key/01", SECRET_VALUE);
  await store.enableLock(lockSecret);
  await store.commit();
  return { backend, deviceSecret, lockSecret };
}

/** Reopens the store as a restarted device or a copied data directory would. */
function reopen(locked: LockedStore): Promise<Keystore> {
  return open(locked.backend, locked.deviceSecret);
}

describe("secure lock", () => {
  it("a right PIN without the lock secret does not unlock the MKEK, and says why", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    expect(store.secureLocked).toBe(true);

    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
    expect(store.unlocked).toBe(false);
    expect(store.pinStatus("user").remaining).toBe(3);
    const refused = store.getSecret("key/01");
    await expect(refused).rejects.toBeInstanceOf(KeystoreSecureLockError);
    await expect(store.getSecret("key/01")).rejects.toThrow(/PIN matched, but the MKEK is also sealed under the secure-lock secret/);

    expect(await store.verifyPin("so", SO_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
    expect(store.unlocked).toBe(false);
  });

  it("the lock secret after the PIN opens the MKEK", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    await store.verifyPin("user", USER_PIN);

    store.setLockSecret(locked.lockSecret);
    expect(store.unlocked).toBe(true);
    expect(await store.getSecret("key/01")).toEqual(SECRET_VALUE);
  });

  it("the lock secret before the PIN opens the MKEK at VERIFY", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    store.setLockSecret(locked.lockSecret);
    expect(store.unlocked).toBe(false);

    expect(await store.verifyPin("so", SO_PIN)).toEqual({ ok: true });
    expect(await store.getSecret("key/01")).toEqual(SECRET_VALUE);
  });

  it("a wrong lock secret is refused and changes nothing", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    await store.verifyPin("user", USER_PIN);

    expect(() => store.setLockSecret(randomSecret())).toThrow(/lock secret does not open/);
    expect(store.unlocked).toBe(false);
    expect(() => store.setLockSecret(new Uint8Array(31))).toThrow(RangeError);

    store.setLockSecret(locked.lockSecret);
    expect(await store.getSecret("key/01")).toEqual(SECRET_VALUE);
  });

  it("a wrong PIN still counts with the lock secret set", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    store.setLockSecret(locked.lockSecret);

    expect(await store.verifyPin("user", WRONG_PIN)).toEqual({ ok: false, remaining: 2 });
    expect(store.unlocked).toBe(false);
  });

  it("forgetting the lock secret locks the MKEK", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    store.setLockSecret(locked.lockSecret);
    await store.verifyPin("user", USER_PIN);

    store.setLockSecret(undefined);
    expect(store.unlocked).toBe(false);
    await expect(store.getSecret("key/01")).rejects.toBeInstanceOf(KeystoreLockedError);
    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
  });

  it("a tampered lock layer or a record moved to the other PIN fails", async () => {
    const locked = await lockedStore();
    const user = (await locked.backend.get("keystore/pin/user"))!;
    const so = (await locked.backend.get("keystore/pin/so"))!;

    const flipped = user.slice();
    flipped[flipped.length - 40] ^= 1;
    await locked.backend.commit(new Map([["keystore/pin/user", flipped]]));
    await expect(reopen(locked)).rejects.toBeInstanceOf(KeystoreIntegrityError);

    await locked.backend.commit(new Map([["keystore/pin/user", so]]));
    await expect(reopen(locked)).rejects.toBeInstanceOf(KeystoreIntegrityError);
  });

  it("with the device secret, a re-MACed edit of the lock layer still fails", async () => {
    const locked = await lockedStore();
    const root = new RootKeys(locked.deviceSecret, parseHeaderStoreId((await locked.backend.get("keystore/header"))!));
    const name = "keystore/pin/user";
    const record = decodePinRecord(root, name, (await locked.backend.get(name))!);
    record.sealedMkek[20] ^= 1;
    await locked.backend.commit(new Map([[name, encodePinRecord(root, name, record)]]));

    const store = await reopen(locked);
    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
    expect(() => store.setLockSecret(locked.lockSecret)).toThrow(/lock secret does not open the MKEK copy in "keystore\/pin\/user"/);
    expect(store.unlocked).toBe(false);
  });

  it("disable restores plain behaviour", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    await store.verifyPin("user", USER_PIN);
    await expect(store.disableLock()).rejects.toBeInstanceOf(KeystoreSecureLockError);

    store.setLockSecret(locked.lockSecret);
    await store.disableLock();
    await store.commit();
    expect(store.secureLocked).toBe(false);

    const plain = await reopen(locked);
    expect(plain.secureLocked).toBe(false);
    expect(await plain.verifyPin("user", USER_PIN)).toEqual({ ok: true });
    expect(await plain.getSecret("key/01")).toEqual(SECRET_VALUE);
  });

  it("a rolled-back enable leaves the copies plain", async () => {
    const backend = new MemoryBackend();
    const deviceSecret = randomSecret();
    const store = await openInitialized(backend, deviceSecret);
    await store.enableLock(randomSecret());
    expect(store.secureLocked).toBe(true);
    store.rollback();
    expect(store.secureLocked).toBe(false);

    const plain = await open(backend, deviceSecret);
    expect(await plain.verifyPin("user", USER_PIN)).toEqual({ ok: true });
  });

  it("enable needs initialized PINs and refuses a second enable", async () => {
    const empty = await open(new MemoryBackend(), randomSecret());
    await expect(empty.enableLock(randomSecret())).rejects.toThrow(/not set/);

    const locked = await lockedStore();
    const store = await reopen(locked);
    await expect(store.enableLock(randomSecret())).rejects.toThrow(/already enabled/);
    await expect(store.enableLock(new Uint8Array(8))).rejects.toThrow(/already enabled/);
  });

  it("new PIN records keep the lock", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    store.setLockSecret(locked.lockSecret);
    expect(await store.changePin("user", USER_PIN, NEW_PIN)).toEqual({ ok: true });
    await store.commit();

    const reopened = await reopen(locked);
    expect(await reopened.verifyPin("user", NEW_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
    reopened.setLockSecret(locked.lockSecret);
    expect(await reopened.getSecret("key/01")).toEqual(SECRET_VALUE);
  });

  it("a PIN change without the lock secret fails and keeps the old PIN", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    await expect(store.changePin("user", USER_PIN, NEW_PIN)).rejects.toBeInstanceOf(KeystoreSecureLockError);
    store.rollback();

    const reopened = await reopen(locked);
    expect(await reopened.verifyPin("user", USER_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
  });

  it("initialize needs the lock secret and keeps the lock", async () => {
    const locked = await lockedStore();
    const store = await reopen(locked);
    const options = { userPin: NEW_PIN, soPin: SO_PIN, userRetries: 5 };
    await expect(store.initialize(options)).rejects.toBeInstanceOf(KeystoreSecureLockError);
    expect((await reopen(locked)).pinStatus("user").max).toBe(3);

    store.setLockSecret(locked.lockSecret);
    await store.initialize(options);
    const reopened = await reopen(locked);
    expect(reopened.secureLocked).toBe(true);
    expect(await reopened.verifyPin("user", NEW_PIN)).toEqual({ ok: true, lockSecretNeeded: true });
  });
});
