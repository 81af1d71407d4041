import { ResilientSocketError } from '../protocol/errors.js';
import { MemoryStorage } from './memory-storage.js';
import type { StorageAdapter } from './storage-adapter.js';

/** How long a storage call may take, and the timers to measure it with. @internal */
export interface StorageTimeout {
  ms: number;
  timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
}

/**
 * Wraps an adapter so that a failure (quota exceeded, private mode, a broken disk) never stops
 * the client: the first failure switches every later call to an in-memory store, and
 * `onFailure` is told once with an `ERR_STORAGE_FAILED` error (the adapter's error as `cause`).
 * The client holds its whole state in memory and writes full snapshots, so nothing it knows is
 * lost by the switch; only persistence across a reload is.
 * @internal
 */
export class GuardedStorage {
  #inner: StorageAdapter;
  #failed = false;
  readonly #onFailure: (error: ResilientSocketError) => void;
  readonly #timeout: StorageTimeout | undefined;

  /**
   * @param timeout a call that has not settled after `ms` counts as a failure: an IndexedDB that
   *   hangs (a blocked upgrade, a browser bug) must not stall the client, which waits for its
   *   writes before transmitting
   */
  constructor(inner: StorageAdapter, onFailure: (error: ResilientSocketError) => void, timeout?: StorageTimeout) {
    this.#inner = inner;
    this.#onFailure = onFailure;
    this.#timeout = timeout;
  }

  #withTimeout<T>(what: string, value: T | Promise<T>): T | Promise<T> {
    const t = this.#timeout;
    if (!t || !(value instanceof Promise)) return value;
    return new Promise<T>((resolve, reject) => {
      const timer = t.timers.setTimeout(() => reject(new Error(`storage ${what} did not settle within ${t.ms} ms`)), t.ms);
      value.then(
        (v) => {
          t.timers.clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          t.timers.clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Whether the adapter failed and the client now runs in memory. */
  get failed(): boolean {
    return this.#failed;
  }

  async #call<T>(what: string, fn: (s: StorageAdapter) => T | Promise<T>, fallback: T): Promise<T> {
    const store = this.#inner;
    try {
      return await (store === this.#inner && !this.#failed ? this.#withTimeout(what, fn(store)) : fn(store));
    } catch (cause) {
      if (store === this.#inner && !this.#failed) {
        this.#failed = true;
        this.#inner = new MemoryStorage();
        this.#onFailure(new ResilientSocketError('ERR_STORAGE_FAILED', `storage ${what} failed; continuing in memory`, { cause }));
      }
      // The memory store cannot fail; retry there so the caller's write is not lost.
      try {
        return await fn(this.#inner);
      } catch {
        return fallback;
      }
    }
  }

  get(key: string): Promise<unknown> {
    return this.#call('get', (s) => s.get(key), undefined);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.#call('set', (s) => s.set(key, value), undefined);
  }

  delete(key: string): Promise<void> {
    return this.#call('delete', (s) => s.delete(key), undefined);
  }
}
