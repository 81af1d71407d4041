import { createStore, del, get, keys, set } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import type { StorageAdapter } from './storage-adapter.js';

/** Options of {@link IndexedDBStorage}. */
export interface IndexedDBStorageOptions {
  /** IndexedDB database name (default `'resilient-socket'`). */
  dbName?: string;
  /** Object store name inside it (default `'kv'`). */
  storeName?: string;
}

/**
 * Storage in IndexedDB through idb-keyval: the default in browsers. It uses its own database
 * (not idb-keyval's shared default one) so it never collides with an application's data.
 * The database is opened on first use, not on construction, so creating the adapter is free.
 */
export class IndexedDBStorage implements StorageAdapter {
  readonly #dbName: string;
  readonly #storeName: string;
  #store: UseStore | undefined;

  constructor(options: IndexedDBStorageOptions = {}) {
    this.#dbName = options.dbName ?? 'resilient-socket';
    this.#storeName = options.storeName ?? 'kv';
  }

  #use(): UseStore {
    this.#store ??= createStore(this.#dbName, this.#storeName);
    return this.#store;
  }

  /** @inheritdoc */
  get(key: string): Promise<unknown> {
    return get(key, this.#use());
  }

  /** @inheritdoc */
  set(key: string, value: unknown): Promise<void> {
    return set(key, value, this.#use());
  }

  /** @inheritdoc */
  delete(key: string): Promise<void> {
    return del(key, this.#use());
  }

  /** @inheritdoc */
  async keys(prefix = ''): Promise<string[]> {
    const all = await keys(this.#use());
    return all.filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
  }
}
