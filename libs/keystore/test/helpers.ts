import { openKeystore, type Keystore, type StorageBackend } from "../src/index.ts";

/** Cheap scrypt cost so each PIN check takes well under a millisecond. */
export const TEST_SCRYPT = { N: 16, r: 1, p: 1 };

export const USER_PIN = new TextEncoder().encode("648219");
export const SO_PIN = new TextEncoder().encode("57621880");
export const WRONG_PIN = new TextEncoder().encode("000000");

export function randomSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

export function open(backend: StorageBackend, deviceSecret: Uint8Array): Promise<Keystore> {
  return openKeystore(backend, { deviceSecret, scrypt: TEST_SCRYPT });
}

/** Opens a store over `backend` and initializes it with the default PINs and 3 user retries. */
export async function openInitialized(backend: StorageBackend, deviceSecret: Uint8Array): Promise<Keystore> {
  const store = await open(backend, deviceSecret);
  await store.initialize({ userPin: USER_PIN, soPin: SO_PIN, userRetries: 3 });
  return store;
}

/** A backend wrapper that records each batch it receives. */
export class RecordingBackend implements StorageBackend {
  readonly batches: Map<string, Uint8Array | null>[] = [];

  constructor(private readonly inner: StorageBackend) {}

  get(name: string): Promise<Uint8Array | undefined> {
    return this.inner.get(name);
  }

  list(): Promise<string[]> {
    return this.inner.list();
  }

  async commit(changes: ReadonlyMap<string, Uint8Array | null>): Promise<void> {
    this.batches.push(new Map(changes));
    await this.inner.commit(changes);
  }
}
