/**
 * The client storage interface. The client keeps its session, stream positions and offline
 * queue under a few keys; an adapter only has to store JSON-serialisable values by string key.
 * Methods may return plain values or promises, so a synchronous store (a Map, localStorage)
 * needs no ceremony and an asynchronous one (IndexedDB, files, a remote store) fits too.
 */

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Where the client persists what must survive a reload or restart.
 *
 * Contract (checked by `test/storage/conformance.ts`):
 * - `get` returns `undefined` for a missing key, otherwise a value equal (deep) to the last one
 *   `set`, never the same object the caller still mutates;
 * - writes to one key are applied in call order;
 * - `set` resolves only once the value is durable as far as the adapter can promise it;
 * - errors are reported by throwing or rejecting (the client then continues in memory).
 */
export interface StorageAdapter {
  /** The value stored under `key`, or `undefined`. */
  get(key: string): MaybePromise<unknown>;
  /** Store a JSON-serialisable `value` under `key`. */
  set(key: string, value: unknown): MaybePromise<void>;
  /** Remove `key` (no error when it does not exist). */
  delete(key: string): MaybePromise<void>;
  /** The stored keys starting with `prefix` (all keys without one). Optional. */
  keys?(prefix?: string): MaybePromise<string[]>;
}
