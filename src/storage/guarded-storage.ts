import { ResilientSocketError } from '../protocol/errors.js';
import { MemoryStorage } from './memory-storage.js';
import type { StorageAdapter } from './storage-adapter.js';

/** How many times the stale keys are tried to be deleted after a failure (one try per later call). */
const MAX_CLEANUP_ATTEMPTS = 20;

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
 *
 * What the adapter still holds after the switch is stale (an old resume token, operations
 * acknowledged since): a later instance that loaded it would be refused the session and send
 * those operations again. So once the adapter failed, and this instance had read or written it
 * before (it may have superseded what is there), the wrapper deletes, best effort, every key of
 * its namespace on the adapter. A delete needs no space, so it usually succeeds where a write
 * failed on quota; when it fails too, it is tried again on later calls (a bounded number of
 * times), and again after any call still in flight on the adapter settles, since such a write
 * could land after the delete. A marker written instead would need a working write — exactly
 * what just failed. When nothing was ever read or written successfully (the adapter failed while
 * loading), the stored record was not superseded by this instance and is left for a later one.
 * @internal
 */
export class GuardedStorage {
  #inner: StorageAdapter;
  /** The persistent adapter, kept after the switch to clean up after it. */
  readonly #disk: StorageAdapter;
  #failed = false;
  readonly #onFailure: (error: ResilientSocketError) => void;
  readonly #timeout: StorageTimeout | undefined;
  readonly #namespace: string | undefined;
  /** Keys this instance used on the adapter: the ones to delete when it fails. */
  readonly #touched = new Set<string>();
  /** Some call succeeded on the adapter: what it holds may be superseded by this instance. */
  #usedDisk = false;
  /** Calls on the adapter (not the cleanup's) not settled yet, timed out or not. */
  #inflight = 0;
  #cleanup: 'idle' | 'running' | 'done' = 'idle';
  #cleanupAttempts = 0;

  /**
   * @param timeout a call that has not settled after `ms` counts as a failure: an IndexedDB that
   *   hangs (a blocked upgrade, a browser bug) must not stall the client, which waits for its
   *   writes before transmitting
   * @param namespace prefix of this client's keys: with an adapter that lists keys, every key
   *   under it is deleted after a failure, not only the ones this instance used
   */
  constructor(inner: StorageAdapter, onFailure: (error: ResilientSocketError) => void, timeout?: StorageTimeout, namespace?: string) {
    this.#inner = inner;
    this.#disk = inner;
    this.#onFailure = onFailure;
    this.#timeout = timeout;
    this.#namespace = namespace;
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

  async #call<T>(what: string, key: string, fn: (s: StorageAdapter) => T | Promise<T>, fallback: T): Promise<T> {
    const store = this.#inner;
    const onDisk = store === this.#disk && !this.#failed;
    if (!onDisk) this.#cleanUp();
    try {
      if (!onDisk) return await fn(store);
      this.#touched.add(key);
      return await this.#withTimeout(what, this.#track(fn(store)));
    } catch (cause) {
      if (onDisk && !this.#failed) {
        this.#failed = true;
        this.#inner = new MemoryStorage();
        this.#onFailure(new ResilientSocketError('ERR_STORAGE_FAILED', `storage ${what} failed; using memory`, { cause }));
        this.#cleanUp();
      }
      // The memory store cannot fail; retry there so the caller's write is not lost.
      try {
        return await fn(this.#inner);
      } catch {
        return fallback;
      }
    }
  }

  /** Count a call on the adapter until it settles, however late. */
  #track<T>(value: T | Promise<T>): T | Promise<T> {
    if (!(value instanceof Promise)) {
      this.#usedDisk = true;
      return value;
    }
    this.#inflight++;
    value.then(
      () => {
        this.#usedDisk = true;
        this.#settled();
      },
      () => this.#settled(),
    );
    return value;
  }

  #settled(): void {
    this.#inflight--;
    // A call that settles after the switch may have written after an earlier cleanup.
    if (this.#failed) {
      if (this.#cleanup === 'done') this.#cleanup = 'idle';
      this.#cleanUp();
    }
  }

  /** Delete this namespace's keys on the failed adapter (best effort, see the class comment). */
  #cleanUp(): void {
    if (!this.#failed || !this.#usedDisk || this.#cleanup !== 'idle' || this.#cleanupAttempts >= MAX_CLEANUP_ATTEMPTS) return;
    this.#cleanup = 'running';
    this.#cleanupAttempts++;
    const disk = this.#disk;
    const attempt = async (): Promise<boolean> => {
      const keys = new Set(this.#touched);
      if (this.#namespace !== undefined && disk.keys) {
        try {
          for (const k of await this.#withTimeout('keys', disk.keys(this.#namespace))) keys.add(k);
        } catch {
          // Listing is optional: the keys this instance used are the ones that matter.
        }
      }
      const results = await Promise.allSettled([...keys].map(async (k) => this.#withTimeout('delete', disk.delete(k))));
      return results.every((r) => r.status === 'fulfilled');
    };
    void attempt()
      .catch(() => false)
      .then((ok) => {
        this.#cleanup = ok && this.#inflight === 0 ? 'done' : 'idle';
      });
  }

  get(key: string): Promise<unknown> {
    return this.#call('get', key, (s) => s.get(key), undefined);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.#call('set', key, (s) => s.set(key, value), undefined);
  }

  delete(key: string): Promise<void> {
    return this.#call('delete', key, (s) => s.delete(key), undefined);
  }
}
