/**
 * Event-sourced, versioned state over a `Store`: appends fold events with the application's
 * reducer and write them optimistically; reads are served from a per-instance cache that is
 * checked against the store's version, so instances sharing a store stay correct. Snapshots
 * bound the replay; long replays run in a worker pool.
 */
import type { Json, PatchOp } from '../../protocol/frames.js';
import { ResilientSocketError } from '../../protocol/errors.js';
import { diff } from '../../protocol/patch.js';
import type { Dedup, DedupStatus, Snapshot, Store, StoredStateEvent } from '../stores/store.js';
import { DEFAULT_COMPRESS_THRESHOLD, decodeBlob, encodeBlob } from './blob-codec.js';
import { foldEvents } from './fold.js';
import { applyOrReject, asReducerModule } from './reducer.js';
import type { ApplyEvent, InitialState } from './reducer.js';
import { StateWorkerPool, reducerModuleUrl } from './worker-pool.js';
import { validateEngineOptions } from './engine-options.js';
import type { ResolvedEngineOptions, StateEngineOptions } from './engine-options.js';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A scope's value at a version. */
export interface VersionedValue {
  version: number;
  value: Json;
}

/** A successful append: the new version and value, and the patch from the previous version. */
export interface StateAppended {
  status: 'appended';
  version: number;
  value: Json;
  /** The version `patch` applies to (`version - 1`). */
  base: number;
  patch: PatchOp[];
}

/** Result of `append`: appended, or the store's dedup verdict (nothing was written). */
export type StateAppendOutcome = StateAppended | DedupStatus;

/** What brings a client from its version to the current one: a patch, or the full value. */
export type StateChanges =
  | { version: number; base: number; patch: PatchOp[]; full?: undefined }
  | { version: number; full: Json; base?: undefined; patch?: undefined };

interface ScopeCache {
  version: number;
  value: Json;
  /** Recent values by version (the current one included), oldest first. */
  history: Map<number, Json>;
  snapshotVersion: number;
  snapshotTs: number;
  /** Patches from older versions to `version` (null: the full value is smaller); reset on change. */
  patches: Map<number, PatchOp[] | null>;
  /** Length of the current value's JSON, once computed; reset on change. */
  fullLength: number | undefined;
}

/** How a rebuild was carried out (diagnostics and tests). */
export type RebuildMode = 'worker' | 'inline';

/** The engine. One per server instance; several instances may share a store. */
export class StateEngine {
  private readonly store: Store;
  private readonly opts: ResolvedEngineOptions;
  private readonly onError: (err: Error) => void;
  private readonly cache = new Map<string, ScopeCache>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly moduleUrl: string | undefined;
  private readonly pool: StateWorkerPool | undefined;
  private readonly ownsPool: boolean;
  private reducer: { applyEvent: ApplyEvent; initialState: InitialState } | undefined;
  private readonly initialStateOption: InitialState | undefined;
  private loading: Promise<{ applyEvent: ApplyEvent; initialState: InitialState }> | undefined;
  private closed = false;
  private readonly rebuilds: Record<RebuildMode, number> = { worker: 0, inline: 0 };

  constructor(options: StateEngineOptions) {
    const v = validateEngineOptions(options);
    this.store = options.store;
    this.opts = v;
    this.onError = options.onError ?? (() => {});
    this.moduleUrl = options.reducerModule === undefined ? undefined : reducerModuleUrl(options.reducerModule);
    if (options.pool !== undefined) {
      this.pool = options.pool;
      this.ownsPool = false;
    } else if (this.moduleUrl !== undefined) {
      this.pool = new StateWorkerPool({ reducerModule: this.moduleUrl, size: v.workers });
      this.ownsPool = true;
    } else {
      this.ownsPool = false;
    }
    if (options.applyEvent !== undefined) {
      this.reducer = { applyEvent: options.applyEvent, initialState: options.initialState ?? (() => null) };
    }
    this.initialStateOption = options.initialState;
  }

  /** Rebuilds done so far, by where they ran. */
  get rebuildCount(): Readonly<Record<RebuildMode, number>> {
    return { ...this.rebuilds };
  }

  /** The current version and value of `scope` (the initial state at version 0). */
  get(scope: string): Promise<VersionedValue> {
    return this.locked(scope, async () => {
      const c = await this.refresh(scope);
      return { version: c.version, value: c.value };
    });
  }

  /**
   * Fold `event` into `scope` and store it as the next version. Refused events throw
   * `ResilientSocketError('ERR_STATE_REJECTED')` and store nothing. With `dedup`, the store
   * checks and advances the session's `seq` in the same write; a duplicate (also one the reducer
   * would now refuse) resolves to `{ status: 'duplicate' }`. A version conflict (another
   * instance appended first) is retried on the fresh state up to `maxConflictRetries` times.
   */
  append(scope: string, event: Json, options: { dedup?: Dedup } = {}): Promise<StateAppendOutcome> {
    const { dedup } = options;
    // Fold what a replay will read back: the event's JSON (no -0, no undefined members), and a
    // copy the caller cannot change afterwards.
    let text: string | undefined;
    try {
      text = JSON.stringify(event) as string | undefined;
    } catch {
      text = undefined; // a BigInt or a cycle: not JSON either
    }
    if (text === undefined) {
      return Promise.reject(new ResilientSocketError('ERR_STATE_REJECTED', 'a state event must be a JSON value', { details: { scope } }));
    }
    const canonical = JSON.parse(text) as Json;
    return this.locked(scope, async () => {
      const reducer = await this.loadReducer();
      for (let attempt = 0; ; attempt++) {
        const c = await this.refresh(scope);
        const prev = c.value;
        const version = c.version + 1;
        let next: Json;
        try {
          next = applyOrReject(reducer.applyEvent, prev, canonical, { scope, version, replay: false });
        } catch (err) {
          if (dedup !== undefined) {
            const session = await this.store.getSession(dedup.sessionId);
            if (session !== null && dedup.seq <= session.lastSeq) return { status: 'duplicate', lastSeq: session.lastSeq };
          }
          throw err;
        }
        const blob = await encodeBlob(canonical, this.opts.compressThreshold);
        const res = await this.store.appendStateEvent(scope, c.version, blob, dedup);
        if (res.status === 'conflict') {
          if (attempt >= this.opts.maxConflictRetries) {
            throw new ResilientSocketError('ERR_INTERNAL', `state append to ${scope} kept conflicting (${attempt + 1} attempts)`, { details: { reason: 'conflict', scope } });
          }
          // Jittered backoff: without it the instance that won keeps winning while this one re-reads.
          await delay(Math.floor(this.opts.random() * Math.min(100, 2 ** attempt)));
          continue;
        }
        if (res.status !== 'appended') return res;
        if (res.version !== version) {
          // The store and the engine disagree on numbering: drop the cache, the store is the truth.
          this.cache.delete(scope);
          throw new ResilientSocketError('ERR_INTERNAL', `store appended version ${res.version}, expected ${version}`, { details: { scope } });
        }
        this.record(c, version, next);
        this.maybeSnapshot(scope, c);
        return { status: 'appended', version, value: next, base: version - 1, patch: diff(prev, next) };
      }
    });
  }

  /**
   * What a client holding `clientVersion` (null: nothing) needs: an empty patch when it is
   * current, a patch when its version is among the last `historySize` this instance saw and the
   * patch is smaller than the value, the full value otherwise. With `knownVersion` (e.g. the
   * version a `subscribeState` notification announced), a cache already at or past it is used
   * without asking the store, and patches are computed once per base for all connections.
   */
  changesSince(scope: string, clientVersion: number | null, knownVersion?: number): Promise<StateChanges> {
    return this.locked(scope, async () => {
      const cached = this.cache.get(scope);
      const c = knownVersion !== undefined && cached !== undefined && cached.version >= knownVersion ? cached : await this.refresh(scope);
      if (clientVersion === c.version) return { version: c.version, base: c.version, patch: [] };
      if (clientVersion !== null && clientVersion < c.version) {
        let patch = c.patches.get(clientVersion);
        if (patch === undefined) {
          const old = c.history.get(clientVersion);
          patch = null;
          if (old !== undefined) {
            const ops = diff(old, c.value);
            c.fullLength ??= JSON.stringify(c.value).length;
            if (JSON.stringify(ops).length <= c.fullLength) patch = ops;
          }
          c.patches.set(clientVersion, patch);
        }
        if (patch !== null) return { version: c.version, base: clientVersion, patch };
      }
      return { version: c.version, full: c.value };
    });
  }

  /** Take a snapshot of `scope` now (e.g. before shutdown); resolves when it is stored. */
  snapshot(scope: string): Promise<void> {
    return this.locked(scope, async () => {
      const c = await this.refresh(scope);
      if (c.version > 0 && c.version > c.snapshotVersion) await this.writeSnapshot(scope, c);
    });
  }

  /** Forget this instance's cache of `scope` (the store keeps everything). */
  evict(scope: string): void {
    this.cache.delete(scope);
  }

  /** Delete `scope` from the store and the cache. */
  delete(scope: string): Promise<void> {
    return this.locked(scope, async () => {
      this.cache.delete(scope);
      await this.store.deleteState(scope);
    });
  }

  /** Wait for background snapshots, then stop the worker pool if the engine started it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    if (this.ownsPool) await this.pool?.close();
  }

  // ---------------------------------------------------------------- internals

  private locked<T>(scope: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ResilientSocketError('ERR_CLOSED', 'the state engine is closed'));
    const prev = this.locks.get(scope) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(scope, tail);
    void tail.then(() => {
      if (this.locks.get(scope) === tail) this.locks.delete(scope);
    });
    return run;
  }

  private loadReducer(): Promise<{ applyEvent: ApplyEvent; initialState: InitialState }> {
    if (this.reducer !== undefined) return Promise.resolve(this.reducer);
    if (this.moduleUrl === undefined) {
      return Promise.reject(new ResilientSocketError('ERR_NO_STATE', 'the state engine has neither applyEvent nor reducerModule'));
    }
    const url = this.moduleUrl;
    this.loading ??= import(url).then((mod: unknown) => {
      const m = asReducerModule(mod, url);
      this.reducer = { applyEvent: m.applyEvent, initialState: this.initialStateOption ?? m.initialState ?? (() => null) };
      return this.reducer;
    });
    return this.loading;
  }

  /** The cache entry of `scope`, brought up to the store's version. */
  private async refresh(scope: string): Promise<ScopeCache> {
    const storeVersion = await this.store.stateVersion(scope);
    const c = this.cache.get(scope);
    if (c !== undefined && c.version === storeVersion) {
      this.touch(scope, c);
      return c;
    }
    if (c !== undefined && c.version < storeVersion) {
      const events = await this.store.readStateEvents(scope, c.version);
      // A snapshot taken elsewhere may have dropped the events we need: then rebuild.
      if (events.length > 0 && (events[0] as StoredStateEvent).version === c.version + 1) {
        await this.foldInto(scope, c, events);
        this.touch(scope, c);
        return c;
      }
    }
    const fresh = await this.rebuild(scope);
    this.touch(scope, fresh);
    return fresh;
  }

  private touch(scope: string, c: ScopeCache): void {
    this.cache.delete(scope);
    this.cache.set(scope, c);
    while (this.cache.size > this.opts.maxCachedScopes) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  /** Latest snapshot + the events after it. Retried when a concurrent snapshot moves the base. */
  private async rebuild(scope: string): Promise<ScopeCache> {
    const reducer = await this.loadReducer();
    for (let attempt = 0; attempt < 3; attempt++) {
      const snap: Snapshot | null = await this.store.getSnapshot(scope);
      const baseVersion = snap?.version ?? 0;
      const base = snap === null ? reducer.initialState(scope) : await decodeBlob(snap.value);
      const events = await this.store.readStateEvents(scope, baseVersion);
      if (events.length > 0 && (events[0] as StoredStateEvent).version !== baseVersion + 1) continue;
      const c: ScopeCache = {
        version: baseVersion,
        value: base,
        history: new Map([[baseVersion, base]]),
        snapshotVersion: baseVersion,
        snapshotTs: snap?.ts ?? this.opts.now(),
        patches: new Map(),
        fullLength: undefined,
      };
      await this.foldInto(scope, c, events);
      return c;
    }
    throw new ResilientSocketError('ERR_INTERNAL', `could not read a consistent snapshot and event log for ${scope}`, { details: { reason: 'gap', scope } });
  }

  /** Fold consecutive `events` into `c`: in the pool when long and a pool exists, else inline. */
  private async foldInto(scope: string, c: ScopeCache, events: readonly StoredStateEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.pool !== undefined && events.length >= this.opts.workerThreshold) {
      this.rebuilds.worker++;
      const r = await this.pool.rebuild({ scope, base: c.value, baseVersion: c.version, events });
      // Intermediate values stayed in the worker: only the result is known to diff against.
      c.history.clear();
      this.record(c, r.version, r.value);
      return;
    }
    if (events.length >= this.opts.workerThreshold) this.rebuilds.inline++;
    const reducer = await this.loadReducer();
    const keepFrom = (events[events.length - 1] as StoredStateEvent).version - this.opts.historySize;
    const r = await foldEvents(reducer.applyEvent, scope, c.value, c.version, events, this.opts.chunkSize, (version, value) => {
      if (version > keepFrom) this.record(c, version, value);
    });
    c.version = r.version;
    c.value = r.value;
    c.patches.clear();
    c.fullLength = undefined;
  }

  private record(c: ScopeCache, version: number, value: Json): void {
    c.version = version;
    c.value = value;
    c.patches.clear();
    c.fullLength = undefined;
    c.history.set(version, value);
    while (c.history.size > this.opts.historySize) {
      c.history.delete(c.history.keys().next().value as number);
    }
  }

  private maybeSnapshot(scope: string, c: ScopeCache): void {
    const due =
      c.version - c.snapshotVersion >= this.opts.snapshotEvery ||
      (this.opts.snapshotIntervalMs > 0 && c.version > c.snapshotVersion && this.opts.now() - c.snapshotTs >= this.opts.snapshotIntervalMs);
    if (!due) return;
    const p = this.writeSnapshot(scope, c).catch((err: unknown) => {
      this.onError(new ResilientSocketError('ERR_INTERNAL', `snapshot of ${scope} failed`, { cause: err, details: { scope } }));
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async writeSnapshot(scope: string, c: ScopeCache): Promise<void> {
    const version = c.version;
    const value = c.value;
    const ts = this.opts.now();
    c.snapshotVersion = version;
    c.snapshotTs = ts;
    await this.store.putSnapshot(scope, { version, ts, value: await encodeBlob(value, this.opts.compressThreshold) });
  }
}

export { DEFAULT_COMPRESS_THRESHOLD };
