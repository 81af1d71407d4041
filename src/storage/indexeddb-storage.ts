import type { StorageAdapter } from './storage-adapter.js';

/** Options of {@link IndexedDBStorage}. */
export interface IndexedDBStorageOptions {
  /** IndexedDB database name (default `'resilient-socket'`). */
  dbName?: string;
  /** Object store name inside it (default `'kv'`). */
  storeName?: string;
}

/**
 * Storage in IndexedDB: the default in browsers. One object store of its own database (not shared
 * with the application's data), keys and values as given (values are structured-cloned). The
 * database is opened on first use, not on construction, so creating the adapter is free.
 * Every call is one transaction; it settles when the transaction completes, so a `set` that
 * resolved is committed, and writes run in call order (IndexedDB orders overlapping
 * read-write transactions by creation).
 */
export class IndexedDBStorage implements StorageAdapter {
  readonly #dbName: string;
  readonly #storeName: string;
  #db: Promise<IDBDatabase> | undefined;

  constructor(options: IndexedDBStorageOptions = {}) {
    this.#dbName = options.dbName ?? 'resilient-socket';
    this.#storeName = options.storeName ?? 'kv';
  }

  /** @inheritdoc */
  get(key: string): Promise<unknown> {
    return this.#run('readonly', (s) => s.get(key));
  }

  /** @inheritdoc */
  async set(key: string, value: unknown): Promise<void> {
    await this.#run('readwrite', (s) => s.put(value, key));
  }

  /** @inheritdoc */
  async delete(key: string): Promise<void> {
    await this.#run('readwrite', (s) => s.delete(key));
  }

  /** @inheritdoc */
  async keys(prefix = ''): Promise<string[]> {
    const all = await this.#run('readonly', (s) => s.getAllKeys());
    return all.filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(this.#dbName);
      req.onupgradeneeded = () => req.result.createObjectStore(this.#storeName);
      req.onsuccess = () => {
        const db = req.result;
        // Let another tab (or a test) upgrade or delete the database: close, reopen on next use.
        db.onversionchange = () => {
          db.close();
          this.#db = undefined;
        };
        resolve(db);
      };
      req.onerror = () => reject(req.error);
    }).catch((error: unknown) => {
      this.#db = undefined; // a later call tries again
      throw error;
    });
    return this.#db;
  }

  async #run<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.#open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(this.#storeName, mode);
      const req = op(tx.objectStore(this.#storeName));
      tx.oncomplete = () => resolve(req.result);
      tx.onabort = tx.onerror = () => reject(tx.error ?? req.error);
    });
  }
}
