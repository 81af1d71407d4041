/** Options of `StateEngine`, with their validation. */
import { availableParallelism } from 'node:os';
import { ResilientSocketError } from '../../protocol/errors.js';
import type { Store } from '../stores/store.js';
import type { ApplyEvent, InitialState } from './reducer.js';
import type { StateWorkerPool } from './worker-pool.js';
import { DEFAULT_COMPRESS_THRESHOLD } from './blob-codec.js';

/** Options of `StateEngine`. */
export interface StateEngineOptions {
  /** Where events and snapshots live. */
  store: Store;
  /**
   * The reducer run on the main thread for new events (and short rebuilds). Optional when
   * `reducerModule` is given: the engine then imports `applyEvent` from it.
   */
  applyEvent?: ApplyEvent;
  /** The state at version 0 (default: `initialState` of `reducerModule`, else `null`). */
  initialState?: InitialState;
  /**
   * An ES module (file URL, `URL` or path; plain JavaScript) exporting the same `applyEvent`,
   * loaded by the rebuild workers. Without it (and without `pool`) rebuilds run on the main
   * thread in chunks that yield to the event loop.
   */
  reducerModule?: string | URL;
  /** A worker pool to share between engines (not closed by `close()`). Default: the engine starts its own when `reducerModule` is given. */
  pool?: StateWorkerPool;
  /** Threads in the engine's own pool (default `min(2, availableParallelism())`). */
  workers?: number;
  /** Replays of at least this many events go to the worker pool (default 1000). */
  workerThreshold?: number;
  /** Take a snapshot after this many events since the last one (default 100). */
  snapshotEvery?: number;
  /** Also take one when this many ms passed since the last one and events were added (default 0: off). */
  snapshotIntervalMs?: number;
  /** Store events and snapshots whose JSON is above this many bytes deflated (default 8192). */
  compressThreshold?: number;
  /** Versions per scope kept in memory to answer `changesSince` with a patch (default 32). */
  historySize?: number;
  /** Scopes cached per instance, least recently used dropped first (default 10000). */
  maxCachedScopes?: number;
  /** Retries of an append that lost a version race to another instance (default 10). */
  maxConflictRetries?: number;
  /** Events folded on the main thread between two yields to the event loop (default 1000). */
  chunkSize?: number;
  /** Clock in ms since epoch (default `Date.now`); injected by tests. */
  now?: () => number;
  /** Random source in [0, 1) for the conflict backoff jitter (default `Math.random`). */
  random?: () => number;
  /** Told about background failures (a snapshot that could not be written). Default: ignored. */
  onError?: (err: Error) => void;
}

/** The numeric options and the clock, with defaults applied. */
export interface ResolvedEngineOptions {
  workers: number;
  workerThreshold: number;
  snapshotEvery: number;
  snapshotIntervalMs: number;
  compressThreshold: number;
  historySize: number;
  maxCachedScopes: number;
  maxConflictRetries: number;
  chunkSize: number;
  now: () => number;
  random: () => number;
}

function int(options: StateEngineOptions, name: keyof ResolvedEngineOptions, fallback: number, min: number): number {
  const value = (options as unknown as Record<string, unknown>)[name] ?? fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be an integer >= ${min}`);
  }
  return value as number;
}

/** Check every option and apply the defaults; throws `ERR_INVALID_OPTION` with the option's name. */
export function validateEngineOptions(options: StateEngineOptions): ResolvedEngineOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'StateEngine needs an options object');
  }
  const store = options.store as Partial<Store> | undefined;
  if (typeof store !== 'object' || store === null || typeof store.appendStateEvent !== 'function') {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.store must be a Store');
  }
  for (const name of ['applyEvent', 'initialState', 'now', 'random', 'onError'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be a function`);
    }
  }
  if (options.applyEvent === undefined && options.reducerModule === undefined) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.applyEvent or options.reducerModule is required');
  }
  return {
    workers: int(options, 'workers', Math.min(2, availableParallelism()), 1),
    workerThreshold: int(options, 'workerThreshold', 1000, 1),
    snapshotEvery: int(options, 'snapshotEvery', 100, 1),
    snapshotIntervalMs: int(options, 'snapshotIntervalMs', 0, 0),
    compressThreshold: int(options, 'compressThreshold', DEFAULT_COMPRESS_THRESHOLD, 0),
    historySize: int(options, 'historySize', 32, 1),
    maxCachedScopes: int(options, 'maxCachedScopes', 10_000, 1),
    maxConflictRetries: int(options, 'maxConflictRetries', 10, 0),
    chunkSize: int(options, 'chunkSize', 1000, 1),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
}
