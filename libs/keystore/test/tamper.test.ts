import { describe, expect, it } from "vitest";
import { KeystoreIntegrityError, MemoryBackend } from "../src/index.ts";
import { open, openInitialized, randomSecret } from "./helpers.ts";

/** Returns a copy of `bytes` with one bit of byte `index` flipped. */
function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] ^= 0x01;
  return copy;
}

/** Creates a committed store with a user key and a device key. */
async function populatedStore() {
  const backend = new MemoryBackend();
  const secret = randomSecret();
  const store = await openInitialized(backend, secret);
  await store.putSecret("key/01", new TextEncoder().encode("user private key"), Uint8Array.of(0x91, 0x01, 0x92));
  await store.putDeviceSecret("key/00", new TextEncoder().encode("device private key"));
  await store.commit();
  return { backend, secret, store };
}

describe("tampering", () => {
  it("detects any flipped byte of an MKEK-sealed record", async () => {
    const { backend, store } = await populatedStore();
    const original = (await backend.get("key/01"))!;

    for (let i = 0; i < original.length; i++) {
      await backend.commit(new Map([["key/01", flipped(original, i)]]));
      await expect(store.getSecret("key/01", Uint8Array.of(0x91, 0x01, 0x92)), `byte ${i}`).rejects.toBeInstanceOf(
        KeystoreIntegrityError,
      );
    }
  });

  it("detects any flipped byte of a device-sealed record", async () => {
    const { backend, store } = await populatedStore();
    const original = (await backend.get("key/00"))!;

    for (let i = 0; i < original.length; i++) {
      await backend.commit(new Map([["key/00", flipped(original, i)]]));
      await expect(store.getDeviceSecret("key/00"), `byte ${i}`).rejects.toBeInstanceOf(KeystoreIntegrityError);
    }
  });

  it("detects a truncated or extended sealed record", async () => {
    const { backend, store } = await populatedStore();
    const original = (await backend.get("key/01"))!;
    const metadata = Uint8Array.of(0x91, 0x01, 0x92);

    for (const changed of [original.subarray(0, original.length - 1), Uint8Array.of(...original, 0), original.subarray(0, 20)]) {
      await backend.commit(new Map([["key/01", changed]]));
      await expect(store.getSecret("key/01", metadata)).rejects.toBeInstanceOf(KeystoreIntegrityError);
    }
  });

  for (const name of ["keystore/pin/user", "keystore/pin/so", "keystore/header"]) {
    it(`refuses to open with any flipped byte of ${name}`, async () => {
      const { backend, secret } = await populatedStore();
      const original = (await backend.get(name))!;

      for (let i = 0; i < original.length; i++) {
        await backend.commit(new Map([[name, flipped(original, i)]]));
        await expect(open(backend, secret), `byte ${i}`).rejects.toBeInstanceOf(KeystoreIntegrityError);
      }
      await backend.commit(new Map([[name, original]]));
      await expect(open(backend, secret)).resolves.toBeDefined();
    });
  }

  it("refuses a user PIN record copied to the SO slot", async () => {
    const { backend, secret } = await populatedStore();

    await backend.commit(new Map([["keystore/pin/so", (await backend.get("keystore/pin/user"))!]]));

    await expect(open(backend, secret)).rejects.toThrow(/PIN record "keystore\/pin\/so" does not authenticate/);
  });

  it("detects a raised retry counter", async () => {
    const { backend, secret } = await populatedStore();
    const store = await open(backend, secret);
    await store.verifyPin("user", new TextEncoder().encode("000000"));
    const record = (await backend.get("keystore/pin/user"))!;
    expect(record[2]).toBe(2);

    record[2] = 3;
    await backend.commit(new Map([["keystore/pin/user", record]]));

    await expect(open(backend, secret)).rejects.toBeInstanceOf(KeystoreIntegrityError);
  });

  it("opens no secret under another device secret", async () => {
    const { backend } = await populatedStore();

    await expect(open(backend, randomSecret())).rejects.toThrow(/device secret does not belong to this store/);
  });
});
