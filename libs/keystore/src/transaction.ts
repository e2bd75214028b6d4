import type { StorageBackend } from "./keystore.ts";

/**
 * Writes staged over a backend: reads see staged values, `commit()` sends them
 * as one backend batch, `rollback()` drops them. Values are copied on the way
 * in and out.
 */
export class Transaction {
  readonly #backend: StorageBackend;
  readonly #staged = new Map<string, Uint8Array | null>();

  constructor(backend: StorageBackend) {
    this.#backend = backend;
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    const staged = this.#staged.get(name);
    if (staged === null) return undefined;
    if (staged !== undefined) return staged.slice();
    return this.#backend.get(name);
  }

  /** Returns the staged value: bytes, null for a staged delete, undefined when nothing is staged. */
  staged(name: string): Uint8Array | null | undefined {
    return this.#staged.get(name);
  }

  stage(name: string, value: Uint8Array | null): void {
    this.#staged.set(name, value === null ? null : value.slice());
  }

  /** Lists backend names with staged writes added and staged deletes removed. */
  async list(): Promise<string[]> {
    const names = new Set(await this.#backend.list());
    for (const [name, value] of this.#staged) {
      if (value === null) names.delete(name);
      else names.add(name);
    }
    return [...names];
  }

  /**
   * Sends the staged batch to the backend and returns it. The batch stays
   * staged when the backend throws, so the caller can retry or roll back.
   */
  async commit(): Promise<ReadonlyMap<string, Uint8Array | null>> {
    const batch = new Map(this.#staged);
    if (batch.size > 0) await this.#backend.commit(batch);
    for (const [name, value] of batch) {
      if (this.#staged.get(name) === value) this.#staged.delete(name);
    }
    return batch;
  }

  rollback(): void {
    this.#staged.clear();
  }
}
