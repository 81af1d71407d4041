import type { StorageAdapter } from './storage-adapter.js';

/**
 * Storage in a `Map`: the default in Node.js, and the fallback when a persistent adapter fails.
 * Values are deep-copied on the way in and out, as a real store would, so callers cannot change
 * stored data by mutating an object later. Share one instance between clients (or between an old
 * and a new client in the same process) to simulate a reload.
 */
export class MemoryStorage implements StorageAdapter {
  readonly #map = new Map<string, unknown>();

  /** @inheritdoc */
  get(key: string): unknown {
    return this.#map.has(key) ? structuredClone(this.#map.get(key)) : undefined;
  }

  /** @inheritdoc */
  set(key: string, value: unknown): void {
    this.#map.set(key, structuredClone(value));
  }

  /** @inheritdoc */
  delete(key: string): void {
    this.#map.delete(key);
  }

  /** @inheritdoc */
  keys(prefix = ''): string[] {
    return [...this.#map.keys()].filter((k) => k.startsWith(prefix));
  }
}
