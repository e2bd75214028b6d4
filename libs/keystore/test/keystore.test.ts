import { describe, expect, it } from "vitest";
import {
  KeystoreIntegrityError,
  KeystoreLockedError,
  KeystoreNotInitializedError,
  MemoryBackend,
  openKeystore,
} from "../src/index.ts";
import { open, openInitialized, randomSecret, RecordingBackend, SO_PIN, TEST_SCRYPT, USER_PIN, WRONG_PIN } from "./helpers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("openKeystore", () => {
  it("creates a header in an empty backend", async () => {
    const backend = new MemoryBackend();
    await open(backend, randomSecret());

    expect(await backend.list()).toEqual(["keystore/header"]);
  });

  it("rejects a device secret of the wrong length", async () => {
    await expect(open(new MemoryBackend(), new Uint8Array(31))).rejects.toThrow(/32 bytes, got 31/);
  });

  it("rejects another device secret", async () => {
    const backend = new MemoryBackend();
    await openInitialized(backend, randomSecret());

    await expect(open(backend, randomSecret())).rejects.toBeInstanceOf(KeystoreIntegrityError);
  });

  it("rejects a non-empty backend without header", async () => {
    const backend = new MemoryBackend();
    await backend.commit(new Map([["file/C401", bytes("x")]]));

    await expect(open(backend, randomSecret())).rejects.toThrow(/keystore header "keystore\/header" is missing/);
  });

  it("rejects invalid scrypt parameters", async () => {
    const options = { deviceSecret: randomSecret(), scrypt: { N: 1000, r: 1, p: 1 } };
    await expect(openKeystore(new MemoryBackend(), options)).rejects.toThrow(/power of two/);
  });

  it("reopens with the same device secret", async () => {
    const backend = new MemoryBackend();
    const secret = randomSecret();
    const first = await openInitialized(backend, secret);
    await first.putSecret("key/01", bytes("private key"));
    await first.commit();

    const second = await open(backend, secret);
    expect(second.unlocked).toBe(false);
    expect(await second.verifyPin("user", USER_PIN)).toEqual({ ok: true });
    expect(await second.getSecret("key/01")).toEqual(bytes("private key"));
  });
});

describe("PINs", () => {
  it("reports an uninitialized PIN with default counters", async () => {
    const store = await open(new MemoryBackend(), randomSecret());

    expect(store.pinStatus("user")).toEqual({ initialized: false, remaining: 3, max: 3 });
    expect(store.pinStatus("so")).toEqual({ initialized: false, remaining: 15, max: 15 });
    await expect(store.verifyPin("user", USER_PIN)).rejects.toBeInstanceOf(KeystoreNotInitializedError);
  });

  it("reports counters and PIN length after initialize", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    expect(store.pinStatus("user")).toEqual({ initialized: true, remaining: 3, max: 3, pinLength: 6 });
    expect(store.pinStatus("so")).toEqual({ initialized: true, remaining: 15, max: 15, pinLength: 8 });
  });

  it("unlocks on the right PIN", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    store.lock();

    expect(await store.verifyPin("so", SO_PIN)).toEqual({ ok: true });
    expect(store.unlocked).toBe(true);
  });

  it("lowers the counter on a wrong PIN and restores it on the right one", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    store.lock();

    expect(await store.verifyPin("user", WRONG_PIN)).toEqual({ ok: false, remaining: 2 });
    expect(store.unlocked).toBe(false);
    expect(store.pinStatus("user").remaining).toBe(2);
    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: true });
    expect(store.pinStatus("user").remaining).toBe(3);
  });

  it("persists a wrong guess although the transaction rolls back", async () => {
    const backend = new RecordingBackend(new MemoryBackend());
    const secret = randomSecret();
    const store = await openInitialized(backend, secret);
    await store.putFile("file/C401", bytes("staged"));
    const batchesBefore = backend.batches.length;

    const result = await store.verifyPin("user", WRONG_PIN);
    const counterBatches = backend.batches.slice(batchesBefore);
    store.rollback();

    expect(result).toEqual({ ok: false, remaining: 2 });
    expect(counterBatches).toHaveLength(1);
    expect([...counterBatches[0].keys()]).toEqual(["keystore/pin/user"]);
    expect(await store.getFile("file/C401")).toBeUndefined();
    const reopened = await open(backend, secret);
    expect(reopened.pinStatus("user").remaining).toBe(2);
  });

  it("counts a guess in a staged PIN record too", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    await store.verifyPin("user", WRONG_PIN);
    await store.resetUserRetries();
    expect(store.pinStatus("user").remaining).toBe(3);

    await store.verifyPin("user", WRONG_PIN);

    expect(store.pinStatus("user").remaining).toBe(2);
    store.rollback();
    expect(store.pinStatus("user").remaining).toBe(1);
  });

  it("keeps a blocked PIN blocked, also for the right PIN", async () => {
    const backend = new MemoryBackend();
    const secret = randomSecret();
    const store = await openInitialized(backend, secret);
    store.lock();

    expect(await store.verifyPin("user", WRONG_PIN)).toEqual({ ok: false, remaining: 2 });
    expect(await store.verifyPin("user", WRONG_PIN)).toEqual({ ok: false, remaining: 1 });
    expect(await store.verifyPin("user", WRONG_PIN)).toEqual({ ok: false, remaining: 0 });
    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: false, remaining: 0 });
    expect(store.unlocked).toBe(false);
    const reopened = await open(backend, secret);
    expect(await reopened.verifyPin("user", USER_PIN)).toEqual({ ok: false, remaining: 0 });
  });

  it("serialises concurrent guesses", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    const results = await Promise.all([1, 2, 3, 4].map(() => store.verifyPin("user", WRONG_PIN)));

    expect(results.map((r) => (r.ok ? "ok" : r.remaining))).toEqual([2, 1, 0, 0]);
  });

  it("changes a PIN and re-seals the MKEK copy", async () => {
    const backend = new MemoryBackend();
    const secret = randomSecret();
    const store = await openInitialized(backend, secret);
    await store.putSecret("key/01", bytes("private key"));
    await store.commit();
    store.lock();

    const newPin = bytes("123456789");
    expect(await store.changePin("user", USER_PIN, newPin)).toEqual({ ok: true });
    await store.commit();
    store.lock();

    const reopened = await open(backend, secret);
    expect(reopened.pinStatus("user").pinLength).toBe(9);
    expect(await reopened.verifyPin("user", USER_PIN)).toEqual({ ok: false, remaining: 2 });
    expect(await reopened.verifyPin("user", newPin)).toEqual({ ok: true });
    expect(await reopened.getSecret("key/01")).toEqual(bytes("private key"));
  });

  it("changes nothing when the old PIN is wrong", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    expect(await store.changePin("so", WRONG_PIN, bytes("1111111111111111"))).toEqual({ ok: false, remaining: 14 });
    await store.commit();
    store.lock();
    expect(await store.verifyPin("so", SO_PIN)).toEqual({ ok: true });
  });

  it("drops a PIN change on rollback", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    await store.changePin("user", USER_PIN, bytes("999999"));
    store.rollback();
    store.lock();

    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: true });
  });

  it("sets the user PIN after SO verification", async () => {
    const backend = new MemoryBackend();
    const secret = randomSecret();
    const store = await openInitialized(backend, secret);
    await store.putSecret("key/01", bytes("private key"));
    await store.commit();
    store.lock();
    for (let i = 0; i < 3; i++) await store.verifyPin("user", WRONG_PIN);

    expect(await store.verifyPin("so", SO_PIN)).toEqual({ ok: true });
    await store.setUserPin(bytes("222222"));
    await store.commit();
    store.lock();

    const reopened = await open(backend, secret);
    expect(reopened.pinStatus("user")).toEqual({ initialized: true, remaining: 3, max: 3, pinLength: 6 });
    expect(await reopened.verifyPin("user", bytes("222222"))).toEqual({ ok: true });
    expect(await reopened.getSecret("key/01")).toEqual(bytes("private key"));
  });

  it("refuses setUserPin while locked", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    store.lock();

    await expect(store.setUserPin(bytes("222222"))).rejects.toBeInstanceOf(KeystoreLockedError);
  });

  it("resets the user retry counter", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    for (let i = 0; i < 3; i++) await store.verifyPin("user", WRONG_PIN);

    await store.resetUserRetries();
    await store.commit();

    expect(store.pinStatus("user").remaining).toBe(3);
    expect(await store.verifyPin("user", USER_PIN)).toEqual({ ok: true });
  });

  it("rejects empty and over-long PINs", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    await expect(store.verifyPin("user", new Uint8Array(0))).rejects.toThrow(/1 to 255 bytes, got 0/);
    await expect(store.changePin("user", USER_PIN, new Uint8Array(256))).rejects.toThrow(/1 to 255 bytes, got 256/);
    expect(store.pinStatus("user").remaining).toBe(3);
  });
});

describe("initialize", () => {
  it("wipes every name that keep rejects", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    await store.putFile("file/C400", bytes("device PRKD"));
    await store.putFile("file/C401", bytes("key PRKD"));
    await store.putDeviceSecret("key/00", bytes("device key"));
    await store.putSecret("key/01", bytes("user key"));
    await store.commit();

    await store.initialize({
      userPin: bytes("111111"),
      soPin: SO_PIN,
      userRetries: 5,
      keep: (name) => name === "file/C400" || name === "key/00",
    });

    expect((await store.list()).sort()).toEqual(["file/C400", "key/00"]);
    expect(await store.getDeviceSecret("key/00")).toEqual(bytes("device key"));
    expect(store.pinStatus("user")).toEqual({ initialized: true, remaining: 5, max: 5, pinLength: 6 });
    expect(store.unlocked).toBe(true);
  });

  it("creates a new MKEK unless asked to reuse it", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    await store.putSecret("key/01", bytes("user key"));
    await store.commit();
    const keep = (name: string) => name === "key/01";

    await store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 3, keep, reuseMkek: true });
    expect(await store.getSecret("key/01")).toEqual(bytes("user key"));

    await store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 3, keep });
    await expect(store.getSecret("key/01")).rejects.toBeInstanceOf(KeystoreIntegrityError);
  });

  it("commits staged writes in one batch", async () => {
    const backend = new RecordingBackend(new MemoryBackend());
    const store = await openInitialized(backend, randomSecret());
    await store.putFile("file/C401", bytes("x"));
    const before = backend.batches.length;

    await store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 3 });

    expect(backend.batches.length - before).toBe(1);
    expect(await backend.get("file/C401")).toBeUndefined();
  });

  it("rejects retry counters outside 1..15", async () => {
    const store = await open(new MemoryBackend(), randomSecret());

    await expect(store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 0 })).rejects.toThrow(/1 to 15, got 0/);
    await expect(store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 3, soRetries: 16 })).rejects.toThrow(
      /soRetries must be an integer from 1 to 15, got 16/,
    );
    expect(store.pinStatus("user").initialized).toBe(false);
  });
});

describe("sealed secrets", () => {
  it("round-trips a secret with metadata", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    const metadata = Uint8Array.of(0x91, 0x01, 0x92);

    await store.putSecret("key/01", bytes("secret"), metadata);

    expect(await store.getSecret("key/01", metadata)).toEqual(bytes("secret"));
    expect(await store.getSecret("key/02")).toBeUndefined();
  });

  it("draws a fresh nonce for every write", async () => {
    const backend = new MemoryBackend();
    const store = await openInitialized(backend, randomSecret());

    await store.putSecret("key/01", bytes("secret"));
    await store.commit();
    const first = await backend.get("key/01");
    await store.putSecret("key/01", bytes("secret"));
    await store.commit();

    expect(await backend.get("key/01")).not.toEqual(first);
  });

  it("fails for other metadata", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    await store.putSecret("key/01", bytes("secret"), Uint8Array.of(1));

    await expect(store.getSecret("key/01", Uint8Array.of(2))).rejects.toBeInstanceOf(KeystoreIntegrityError);
    await expect(store.getSecret("key/01")).rejects.toBeInstanceOf(KeystoreIntegrityError);
  });

  it("fails for a record moved to another name", async () => {
    const backend = new MemoryBackend();
    const store = await openInitialized(backend, randomSecret());
    await store.putSecret("key/01", bytes("secret"));
    await store.commit();

    await backend.commit(new Map([["key/02", (await backend.get("key/01"))!]]));

    await expect(store.getSecret("key/02")).rejects.toBeInstanceOf(KeystoreIntegrityError);
  });

  it("fails for a device record read as an MKEK record", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    await store.putDeviceSecret("key/00", bytes("device key"));

    await expect(store.getSecret("key/00")).rejects.toThrow(/format 0x02, expected 0x01/);
  });

  it("throws KeystoreLockedError while locked", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    store.lock();

    await expect(store.putSecret("key/01", bytes("secret"))).rejects.toBeInstanceOf(KeystoreLockedError);
    await expect(store.getSecret("key/01")).rejects.toBeInstanceOf(KeystoreLockedError);
  });

  it("opens device secrets without a PIN", async () => {
    const backend = new MemoryBackend();
    const secret = randomSecret();
    const store = await open(backend, secret);
    await store.putDeviceSecret("key/00", bytes("device key"), Uint8Array.of(7));
    await store.commit();

    const reopened = await open(backend, secret);
    expect(reopened.unlocked).toBe(false);
    expect(await reopened.getDeviceSecret("key/00", Uint8Array.of(7))).toEqual(bytes("device key"));
  });

  it("rejects reserved names", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    await expect(store.putFile("keystore/pin/user", bytes("x"))).rejects.toThrow(/reserved prefix/);
    await expect(store.delete("keystore/header")).rejects.toThrow(/reserved prefix/);
    await expect(store.getFile("")).rejects.toThrow(/non-empty string/);
  });
});

describe("lock", () => {
  it("wipes the MKEK", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());
    await store.putSecret("key/01", bytes("secret"));

    store.lock();

    expect(store.unlocked).toBe(false);
    await expect(store.getSecret("key/01")).rejects.toBeInstanceOf(KeystoreLockedError);
  });

  it("fills the MKEK buffer with zeros", async () => {
    const mkekBuffers: Uint8Array[] = [];
    const random = (length: number) => {
      const buffer = crypto.getRandomValues(new Uint8Array(length));
      if (length === 32) mkekBuffers.push(buffer);
      return buffer;
    };
    const store = await openKeystore(new MemoryBackend(), { deviceSecret: randomSecret(), scrypt: TEST_SCRYPT, random });
    await store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 3 });
    const mkek = mkekBuffers.at(-1)!;
    expect(mkek.some((b) => b !== 0)).toBe(true);

    store.lock();

    expect(mkek.every((b) => b === 0)).toBe(true);
  });
});

describe("transactions", () => {
  it("reads staged writes and drops them on rollback", async () => {
    const backend = new MemoryBackend();
    const store = await openInitialized(backend, randomSecret());

    await store.putFile("file/C401", bytes("one"));
    await store.putFile("file/C402", bytes("two"));
    await store.delete("file/C402");

    expect(await store.getFile("file/C401")).toEqual(bytes("one"));
    expect(await store.list()).toEqual(["file/C401"]);
    expect(await backend.get("file/C401")).toBeUndefined();
    store.rollback();
    expect(await store.list()).toEqual([]);
  });

  it("commits staged writes in one batch", async () => {
    const backend = new RecordingBackend(new MemoryBackend());
    const store = await openInitialized(backend, randomSecret());
    const before = backend.batches.length;

    await store.putFile("file/C401", bytes("one"));
    await store.putSecret("key/01", bytes("secret"));
    await store.commit();
    await store.commit();

    expect(backend.batches.length - before).toBe(1);
    expect([...backend.batches.at(-1)!.keys()].sort()).toEqual(["file/C401", "key/01"]);
  });

  it("hides keystore records from list", async () => {
    const store = await openInitialized(new MemoryBackend(), randomSecret());

    expect(await store.list()).toEqual([]);
  });
});
