import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { openKeystore } from "@hsmkit/keystore";
import { createLogger, silentLogger } from "../src/log.ts";
import { defaultSecretPath, loadOrCreateDeviceSecret } from "../src/storage/device-secret.ts";
import { openDirectoryBackend } from "../src/storage/directory-backend.ts";
import { createDevice } from "../src/device.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vdevice-secret-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Tells whether `needle` occurs anywhere in `haystack`. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("loadOrCreateDeviceSecret", () => {
  it("creates 32 random bytes in a 0600 file and reads them back", async () => {
    const path = defaultSecretPath(join(root, "device"));

    const created = await loadOrCreateDeviceSecret(path, { log: silentLogger });
    const loaded = await loadOrCreateDeviceSecret(path, { log: silentLogger });

    expect(path).toBe(join(root, "device.secret"));
    expect(created).toHaveLength(32);
    expect(created.some((b) => b !== 0)).toBe(true);
    expect(loaded).toEqual(created);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(root)).toEqual(["device.secret"]);
  });

  it("creates missing parent directories", async () => {
    const path = join(root, "a", "b", "secret");

    await loadOrCreateDeviceSecret(path, { log: silentLogger });

    expect((await stat(path)).size).toBe(32);
  });

  it("rejects a file of the wrong size", async () => {
    const path = join(root, "device.secret");
    await writeFile(path, new Uint8Array(31), { mode: 0o600 });

    await expect(loadOrCreateDeviceSecret(path, { log: silentLogger })).rejects.toThrow(
      `invalid device secret file ${path}: 31 bytes, expected 32`,
    );
  });

  it("warns about a file that others can read", async () => {
    const path = join(root, "device.secret");
    await writeFile(path, new Uint8Array(32).fill(7), { mode: 0o644 });
    const lines: string[] = [];

    await loadOrCreateDeviceSecret(path, { log: createLogger({ level: "warn", write: (line) => lines.push(line) }) });

    expect(lines.join("\n")).toMatch(/readable by other users.*mode=644/);
  });
});

describe("keystore over a directory", () => {
  it("writes no secret, PIN or MKEK in plain text", async () => {
    const directory = join(root, "device");
    const deviceSecret = await loadOrCreateDeviceSecret(defaultSecretPath(directory), { log: silentLogger });
    const mkeks: Uint8Array[] = [];
    const random = (length: number) => {
      const value = crypto.getRandomValues(new Uint8Array(length));
      if (length === 32) mkeks.push(value.slice());
      return value;
    };
    const userPin = bytes("648219");
    const soPin = bytes("57621880");
    const newPin = bytes("73920461");
    const privateKey = bytes("-----private key bytes 0123456789abcdef-----");
    const deviceKey = bytes("-----device key bytes fedcba9876543210-----");

    const backend = await openDirectoryBackend(directory, { log: silentLogger });
    const store = await openKeystore(backend, { deviceSecret, random, scrypt: { N: 16, r: 1, p: 1 } });
    await store.initialize({ userPin, soPin, userRetries: 3 });
    await store.putSecret("key/01", privateKey, bytes("metadata"));
    await store.putDeviceSecret("key/00", deviceKey);
    await store.putFile("file/C401", bytes("public PRKD"));
    await store.commit();
    await store.verifyPin("user", bytes("000000"));
    await store.changePin("user", userPin, newPin);
    await store.commit();
    store.lock();
    await backend.close();

    const files = await readdir(directory);
    expect(files).toContain("key%2F01.rec");
    expect(mkeks.length).toBeGreaterThan(0);
    const secrets = [userPin, soPin, newPin, privateKey, deviceKey, deviceSecret, ...mkeks];
    for (const name of files) {
      const content = new Uint8Array(await readFile(join(directory, name)));
      for (const secret of secrets) expect(contains(content, secret), `${name} contains a secret`).toBe(false);
    }
    const prkd = new Uint8Array(await readFile(join(directory, "file%2FC401.rec")));
    expect(contains(prkd, bytes("public PRKD"))).toBe(true);
  });

  it("refuses to replace a lost secret of an existing device", async () => {
    const dataDir = join(root, "device");
    const secretFile = join(root, "device.secret");
    const first = await createDevice({ dataDir, secretFile, scrypt: { N: 16, r: 1, p: 1 } });
    await first.close();
    await rm(secretFile);

    await expect(createDevice({ dataDir, secretFile, scrypt: { N: 16, r: 1, p: 1 } })).rejects.toThrow(
      /device secret file .* not found, but the data directory already contains a device/,
    );
    await expect(stat(secretFile)).rejects.toThrow();
  });

  it("reopens after a restart with the same secret file", async () => {
    const directory = join(root, "device");
    const secretPath = defaultSecretPath(directory);
    const options = async () => ({ deviceSecret: await loadOrCreateDeviceSecret(secretPath, { log: silentLogger }), scrypt: { N: 16, r: 1, p: 1 } });

    const firstBackend = await openDirectoryBackend(directory, { log: silentLogger });
    const first = await openKeystore(firstBackend, await options());
    await first.initialize({ userPin: bytes("648219"), soPin: bytes("57621880"), userRetries: 3 });
    await first.putSecret("key/01", bytes("private key"));
    await first.commit();
    await firstBackend.close();

    const secondBackend = await openDirectoryBackend(directory, { log: silentLogger });
    try {
      const second = await openKeystore(secondBackend, await options());
      expect(await second.verifyPin("user", bytes("648219"))).toEqual({ ok: true });
      expect(await second.getSecret("key/01")).toEqual(bytes("private key"));
    } finally {
      await secondBackend.close();
    }
  });
});
