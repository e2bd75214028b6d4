import type { StorageBackend } from "./keystore.ts";

/**
 * In-memory StorageBackend for tests and browsers. Values are copied in and
 * out, so callers cannot change stored bytes through a kept reference.
 */
export class MemoryBackend implements StorageBackend {
  readonly #records = new Map<string, Uint8Array>();

  async get(name: string): Promise<Uint8Array | undefined> {
    const value = this.#records.get(name);
    return value === undefined ? undefined : value.slice();
  }

  async list(): Promise<string[]> {
    return [...this.#records.keys()];
  }

  async commit(changes: ReadonlyMap<string, Uint8Array | null>): Promise<void> {
    for (const [name, value] of changes) {
      if (value === null) this.#records.delete(name);
      else this.#records.set(name, value.slice());
    }
  }
}
