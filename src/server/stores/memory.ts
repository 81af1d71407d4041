/**
 * The in-memory store: the embedded default for a single server process. Everything lives in
 * this process and is lost with it; streams then come back under a new epoch, which clients
 * detect (`epoch_changed`) instead of silently missing messages.
 */
import { randomBytes } from 'node:crypto';
import { sessionStream } from '../../protocol/index.js';
import type { Json } from '../../protocol/index.js';
import { ResilientSocketError } from '../../protocol/errors.js';
import type {
  AdvanceResult,
  AppendResult,
  Blob,
  ControlMessage,
  Dedup,
  DedupStatus,
  EntryInput,
  EntryListener,
  Retention,
  SessionRecord,
  SessionUpdate,
  Snapshot,
  StateAppendResult,
  Store,
  StoredStateEvent,
  StreamEntry,
  StreamInfo,
  VersionListener,
} from './store.js';
import { NotifyQueue } from './notify-queue.js';
import { StoredSession } from './memory-session.js';
import { checkFunction, checkNonNegativeInteger } from './invalid-option.js';
import { checkRetention } from './check-retention.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Clock in ms since epoch, for entry timestamps, age retention and session expiry (default `Date.now`). */
  now?: () => number;
  /** Source of new stream epochs (default: 64 random bits, base64url). */
  newEpoch?: () => string;
  /**
   * How often streams are trimmed by age, and idle ones forgotten, in the background, ms (default
   * 60000; 0 disables). Streams are also trimmed (or found idle) whenever they are written or
   * read, so this only frees memory.
   */
  sweepIntervalMs?: number;
  /**
   * Forget a stream (epoch, last offset, history) after this many ms without an append, a read
   * or a subscriber, for streams whose appends name no `Retention.idleTtlMs` (a stream only
   * read so far). Default 604800000 (7 days); 0 = never. The server passes its `streamIdleTtl`.
   */
  streamIdleTtlMs?: number;
  /** Receives what a listener throws (default: `console.error`); delivery continues. */
  onListenerError?: (error: unknown) => void;
}

interface MemoryStream {
  epoch: string;
  lastOffset: number;
  /** Retained entries, consecutive offsets, oldest first. */
  entries: StreamEntry[];
  /** Age limit of the latest append, applied again on reads and sweeps. */
  maxAgeMs: number;
  /** Idle limit of the latest append (else the store's default); 0 = never forget. */
  idleTtlMs: number;
  /** When the stream was last appended to, read, or left by its last subscriber (ms since epoch). */
  touchedAt: number;
}

interface MemoryState {
  version: number;
  events: StoredStateEvent[];
  snapshot: Snapshot | null;
}

/**
 * A `Store` held in this process's memory. Writes are atomic because each method does all its
 * work synchronously before its first await point. Listeners (`subscribe`, `subscribeState`,
 * `onControl`) run in write order on a microtask after the write, never inside the writer's
 * call and always before the writer's `await` resumes (see `NotifyQueue`). Stored entries are
 * frozen and shared with every reader: do not mutate them.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #now: () => number;
  readonly #newEpoch: () => string;
  readonly #streamIdleTtlMs: number;
  readonly #notify: NotifyQueue;
  /** Sessions, except detached ones, which are parked (see `StoredSession.park`). */
  readonly #sessions = new Map<string, StoredSession>();
  /** Detached sessions, each as one string, by `parkKey(id)`. A session is in one of the two maps. */
  readonly #parked = new Map<string, string>();

  /** Detached sessions held in their compact parked form (for tests and metrics). @internal */
  get parkedSessions(): number {
    return this.#parked.size;
  }

  /** Streams held (epoch and offsets, with or without history), for tests and metrics. @internal */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Entries `stream` holds now, or undefined when it is not held; touches nothing. For tests. @internal */
  peekStream(stream: string): { entries: number } | undefined {
    const state = this.#streams.get(stream);
    return state === undefined ? undefined : { entries: state.entries.length };
  }
  /** Expired session ids and until when they are remembered (ms since epoch). */
  readonly #tombstones = new Map<string, number>();
  readonly #streams = new Map<string, MemoryStream>();
  readonly #states = new Map<string, MemoryState>();
  readonly #entryListeners = new Map<string, Set<EntryListener>>();
  readonly #versionListeners = new Map<string, Set<VersionListener>>();
  readonly #controlListeners = new Set<(message: ControlMessage) => void>();
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    checkFunction('now', options.now);
    checkFunction('newEpoch', options.newEpoch);
    checkFunction('onListenerError', options.onListenerError);
    checkNonNegativeInteger('sweepIntervalMs', options.sweepIntervalMs);
    checkNonNegativeInteger('streamIdleTtlMs', options.streamIdleTtlMs);
    this.#now = options.now ?? Date.now;
    this.#streamIdleTtlMs = options.streamIdleTtlMs ?? DEFAULT_STREAM_IDLE_TTL_MS;
    this.#newEpoch = options.newEpoch ?? (() => randomBytes(8).toString('base64url'));
    this.#notify = new NotifyQueue(options.onListenerError ?? ((error) => console.error('resilient-socket: store listener failed', error)));
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) {
      this.#sweepTimer = setInterval(() => this.#sweep(), sweepIntervalMs);
      // The sweep only frees memory: it must not keep a process alive on its own.
      this.#sweepTimer.unref?.();
    }
  }

  // ---- sessions

  async createSession(record: SessionRecord): Promise<void> {
    this.#open();
    // The server reads the new session's direct stream (for its epoch) before storing the
    // session: while nothing is written to it, the session keeps its epoch instead of a stream.
    const own = sessionStream(record.id);
    const direct = this.#streams.get(own);
    let ownEpoch: string | undefined;
    if (direct !== undefined && direct.lastOffset === 0 && direct.entries.length === 0) {
      this.#streams.delete(own);
      ownEpoch = direct.epoch;
    } else if (direct === undefined) ownEpoch = this.#peek(record.id)?.ownEpoch(record.id);
    this.#parked.delete(parkKey(record.id));
    const session = new StoredSession(record, ownEpoch);
    this.#sessions.set(record.id, session);
    this.#settle(record.id, session);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    this.#open();
    const session = this.#peek(id);
    if (session === undefined || this.#expired(session)) return null;
    return session.toRecord(id);
  }

  async updateSession(id: string, update: SessionUpdate): Promise<boolean> {
    this.#open();
    const session = this.#live(id);
    if (session === undefined) return false;
    session.apply(id, update);
    this.#settle(id, session);
    return true;
  }

  async attachSession(id: string, owner: string): Promise<string | null | undefined> {
    this.#open();
    const session = this.#live(id);
    if (session === undefined) return undefined;
    const previous = session.owner;
    session.owner = owner;
    session.expiresAt = null;
    return previous;
  }

  async resumeSession(id: string, update: SessionUpdate, owner: string, presentedHash?: string): Promise<{ previous: string | null; record: SessionRecord } | undefined> {
    this.#open();
    const session = this.#live(id);
    if (session === undefined) return undefined;
    if (presentedHash !== undefined) {
      const held = session.toRecord(id);
      if (held.tokenHash !== presentedHash && held.prevTokenHash !== presentedHash) return undefined;
    }
    session.apply(id, update);
    const previous = session.owner;
    session.owner = owner;
    session.expiresAt = null;
    return { previous, record: session.toRecord(id) };
  }

  async detachSession(id: string, owner: string, ttlMs: number): Promise<boolean> {
    this.#open();
    const session = this.#live(id);
    if (session === undefined || session.owner !== owner) return false;
    session.owner = null;
    session.expiresAt = this.#now() + ttlMs;
    this.#settle(id, session);
    return true;
  }

  async deleteSession(id: string): Promise<void> {
    this.#open();
    this.#sessions.delete(id);
    this.#parked.delete(parkKey(id));
  }

  async takeExpiredSessions(now: number, limit: number): Promise<string[]> {
    this.#open();
    const taken: string[] = [];
    for (const [key, parked] of this.#parked) {
      if (taken.length >= limit) break;
      if (StoredSession.parkedExpiresAt(parked) <= now) {
        this.#parked.delete(key);
        taken.push(idOfParkKey(key));
      }
    }
    for (const [id, session] of this.#sessions) {
      if (taken.length >= limit) break;
      if (session.expiresAt !== null && session.expiresAt <= now) {
        this.#sessions.delete(id);
        taken.push(id);
      }
    }
    return taken;
  }

  async markExpired(id: string, ttlMs: number): Promise<void> {
    this.#open();
    const now = this.#now();
    if (ttlMs <= 0) return;
    this.#tombstones.set(id, now + ttlMs);
    // Pruned here rather than on a timer: the map only grows when sessions expire.
    if (this.#tombstones.size % 1024 === 0) for (const [key, until] of this.#tombstones) if (until <= now) this.#tombstones.delete(key);
  }

  async wasExpired(id: string): Promise<boolean> {
    this.#open();
    const now = this.#now();
    const until = this.#tombstones.get(id);
    if (until !== undefined && until > now) return true;
    const parked = this.#parked.get(parkKey(id));
    if (parked !== undefined) return StoredSession.parkedExpiresAt(parked) <= now;
    const session = this.#sessions.get(id);
    return session !== undefined && session.expiresAt !== null && session.expiresAt <= now;
  }

  async countUserSessions(user: string): Promise<number> {
    this.#open();
    const now = this.#now();
    let count = 0;
    for (const session of this.#sessions.values()) {
      if (session.user === user && (session.expiresAt === null || session.expiresAt > now)) count++;
    }
    const userBytes = StoredSession.userBytes(user);
    for (const parked of this.#parked.values()) {
      if (StoredSession.parkedUserIs(parked, userBytes) && StoredSession.parkedExpiresAt(parked) > now) count++;
    }
    return count;
  }

  async advanceSeq(sessionId: string, seq: number, update?: SessionUpdate): Promise<AdvanceResult> {
    this.#open();
    const refused = this.#checkSeq({ sessionId, seq });
    if (refused !== undefined) return refused;
    const session = this.#sessions.get(sessionId)!;
    session.lastSeq = seq;
    if (update !== undefined) session.apply(sessionId, update);
    this.#settle(sessionId, session);
    return { status: 'ok' };
  }

  // ---- streams

  async append(stream: string, input: EntryInput, retention: Retention, dedup?: Dedup): Promise<AppendResult> {
    this.#open();
    checkRetention(retention);
    // Check everything before writing anything: a refused dedup leaves no trace.
    if (dedup !== undefined) {
      const refused = this.#checkSeq(dedup);
      if (refused !== undefined) return refused;
      this.#acceptSeq(dedup);
    }
    const state = this.#stream(stream);
    const entry: StreamEntry = Object.freeze({
      id: input.id,
      from: input.from,
      user: input.user,
      data: frozenCopy(input.data),
      stream,
      epoch: state.epoch,
      offset: state.lastOffset + 1,
      ts: this.#now(),
    });
    state.lastOffset = entry.offset;
    state.entries.push(entry);
    state.maxAgeMs = retention.maxAgeMs;
    if (retention.idleTtlMs !== undefined) state.idleTtlMs = retention.idleTtlMs;
    const excess = state.entries.length - retention.maxCount;
    // One over (every append once the stream is full): shift() is O(1) in V8, splice(0, 1) moves every entry.
    if (excess === 1) state.entries.shift();
    else if (excess > 1) state.entries.splice(0, excess);
    this.#trimByAge(state);
    const listeners = this.#entryListeners.get(stream);
    if (listeners !== undefined && listeners.size > 0) {
      for (const listener of [...listeners]) {
        // A listener removed before the drain no longer receives anything.
        this.#notify.push(() => {
          if (listeners.has(listener)) listener(entry);
        });
      }
    }
    return { status: 'appended', entry };
  }

  async read(stream: string, afterOffset: number, limit: number): Promise<{ info: StreamInfo; entries: StreamEntry[] }> {
    this.#open();
    const state = this.#existing(stream);
    if (typeof state === 'string') return { info: { epoch: state, firstOffset: 1, lastOffset: 0 }, entries: [] };
    this.#trimByAge(state);
    const info = infoOf(state);
    const start = Math.max(afterOffset + 1, info.firstOffset) - info.firstOffset;
    return { info, entries: state.entries.slice(start, start + Math.max(0, limit)) };
  }

  async info(stream: string): Promise<StreamInfo> {
    this.#open();
    const state = this.#existing(stream);
    if (typeof state === 'string') return { epoch: state, firstOffset: 1, lastOffset: 0 };
    this.#trimByAge(state);
    return infoOf(state);
  }

  async subscribe(stream: string, listener: EntryListener): Promise<void> {
    this.#open();
    addTo(this.#entryListeners, stream, listener);
  }

  async unsubscribe(stream: string, listener: EntryListener): Promise<void> {
    removeFrom(this.#entryListeners, stream, listener);
    // The idle time starts when the last member leaves: a session detached now expires (after
    // the session TTL) before the stream is forgotten (after streamIdleTtl >= session TTL).
    const state = this.#streams.get(stream);
    if (state !== undefined) state.touchedAt = this.#now();
  }

  async deleteStream(stream: string): Promise<void> {
    this.#open();
    this.#streams.delete(stream);
    const owner = this.#directOwner(stream);
    if (owner !== undefined) this.#dropOwnEpoch(owner);
  }

  // ---- state

  async appendStateEvent(scope: string, expectedVersion: number, event: Blob, dedup?: Dedup): Promise<StateAppendResult> {
    this.#open();
    if (dedup !== undefined) {
      const refused = this.#checkSeq(dedup);
      if (refused !== undefined) return refused;
    }
    const state = this.#state(scope);
    // A conflict must not consume the seq: the server re-reads and retries the same operation.
    if (state.version !== expectedVersion) {
      const session = dedup === undefined ? undefined : this.#sessions.get(dedup.sessionId);
      if (session !== undefined) this.#settle(dedup!.sessionId, session);
      return { status: 'conflict', version: state.version };
    }
    if (dedup !== undefined) this.#acceptSeq(dedup);
    const version = expectedVersion + 1;
    state.version = version;
    state.events.push({ version, event: { ...event } });
    const listeners = this.#versionListeners.get(scope);
    if (listeners !== undefined && listeners.size > 0) {
      for (const listener of [...listeners]) {
        this.#notify.push(() => {
          if (listeners.has(listener)) listener(scope, version);
        });
      }
    }
    return { status: 'appended', version };
  }

  async readStateEvents(scope: string, afterVersion: number): Promise<StoredStateEvent[]> {
    this.#open();
    const state = this.#states.get(scope);
    if (state === undefined) return [];
    return state.events.filter((e) => e.version > afterVersion).map((e) => ({ version: e.version, event: { ...e.event } }));
  }

  async stateVersion(scope: string): Promise<number> {
    this.#open();
    return this.#states.get(scope)?.version ?? 0;
  }

  async getSnapshot(scope: string): Promise<Snapshot | null> {
    this.#open();
    const snapshot = this.#states.get(scope)?.snapshot ?? null;
    return snapshot === null ? null : { ...snapshot, value: { ...snapshot.value } };
  }

  async putSnapshot(scope: string, snapshot: Snapshot): Promise<void> {
    this.#open();
    const state = this.#state(scope);
    // An older snapshot (a slow writer) never replaces a newer one.
    if (state.snapshot !== null && state.snapshot.version >= snapshot.version) return;
    state.snapshot = { version: snapshot.version, ts: snapshot.ts, value: { ...snapshot.value } };
    state.events = state.events.filter((e) => e.version > snapshot.version);
  }

  async deleteState(scope: string): Promise<void> {
    this.#open();
    this.#states.delete(scope);
  }

  async subscribeState(scope: string, listener: VersionListener): Promise<void> {
    this.#open();
    addTo(this.#versionListeners, scope, listener);
  }

  async unsubscribeState(scope: string, listener: VersionListener): Promise<void> {
    removeFrom(this.#versionListeners, scope, listener);
  }

  // ---- instances

  async publishControl(message: ControlMessage): Promise<void> {
    this.#open();
    const copy = structuredClone(message);
    for (const listener of [...this.#controlListeners]) this.#notify.push(() => listener(copy));
  }

  onControl(listener: (message: ControlMessage) => void): void {
    this.#controlListeners.add(listener);
  }

  async ping(): Promise<void> {
    this.#open();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#notify.clear();
    this.#entryListeners.clear();
    this.#versionListeners.clear();
    this.#controlListeners.clear();
  }

  // ---- internals

  #open(): void {
    if (this.#closed) throw new ResilientSocketError('ERR_STORE_UNAVAILABLE', 'The memory store is closed');
  }

  /**
   * The session unless unknown or expired (an expired one waits for `takeExpiredSessions`), in
   * `#sessions` (unparked) so the caller can change it; `#settle` parks it again if detached.
   */
  #live(id: string): StoredSession | undefined {
    const session = this.#sessions.get(id) ?? this.#unpark(id);
    if (session === undefined || this.#expired(session)) return undefined;
    return session;
  }

  #expired(session: StoredSession): boolean {
    return session.expiresAt !== null && session.expiresAt <= this.#now();
  }

  /** Move a parked session back to `#sessions`. */
  #unpark(id: string): StoredSession | undefined {
    const key = parkKey(id);
    const parked = this.#parked.get(key);
    if (parked === undefined) return undefined;
    const session = StoredSession.unpark(parked);
    this.#parked.delete(key);
    this.#sessions.set(id, session);
    return session;
  }

  /** The session (expired ones too) to read only: a parked one is not moved. */
  #peek(id: string): StoredSession | undefined {
    const session = this.#sessions.get(id);
    if (session !== undefined) return session;
    const parked = this.#parked.get(parkKey(id));
    return parked === undefined ? undefined : StoredSession.unpark(parked);
  }

  /** Park a session in `#sessions` if it is detached (after a change). */
  #settle(id: string, session: StoredSession): void {
    const parked = session.park();
    if (parked === null || this.#sessions.get(id) !== session) return;
    this.#sessions.delete(id);
    this.#parked.set(parkKey(id), parked);
  }

  #dropOwnEpoch(owner: { id: string; session: StoredSession }): void {
    const session = this.#sessions.get(owner.id) ?? this.#unpark(owner.id);
    if (session === undefined) return;
    session.dropOwnEpoch(owner.id);
    this.#settle(owner.id, session);
  }

  #checkSeq(dedup: Dedup): DedupStatus | undefined {
    const session = this.#live(dedup.sessionId);
    if (session === undefined) return { status: 'no_session' };
    let refused: DedupStatus | undefined;
    if (dedup.seq <= session.lastSeq) refused = { status: 'duplicate', lastSeq: session.lastSeq };
    else if (dedup.seq > session.lastSeq + 1) refused = { status: 'out_of_order', lastSeq: session.lastSeq };
    // A detached session #live unparked is parked again (the caller that goes on settles it).
    if (refused !== undefined) this.#settle(dedup.sessionId, session);
    return refused;
  }

  /** Record an accepted `seq` (after `#checkSeq` let it through) and park a detached session again. */
  #acceptSeq(dedup: Dedup): void {
    const session = this.#sessions.get(dedup.sessionId)!;
    session.lastSeq = dedup.seq;
    this.#settle(dedup.sessionId, session);
  }

  /** The stream, touched; created (under a new epoch) if new or forgotten as idle. */
  #stream(name: string): MemoryStream {
    const now = this.#now();
    let state = this.#streams.get(name);
    if (state !== undefined && this.#idle(name, state, now)) {
      this.#streams.delete(name);
      state = undefined;
    }
    if (state === undefined) {
      // A session's direct stream written for the first time keeps the epoch it was given.
      const owner = this.#directOwner(name);
      const epoch = owner?.session.ownEpoch(owner.id) ?? this.#newEpoch();
      if (owner !== undefined) this.#dropOwnEpoch(owner);
      state = { epoch, lastOffset: 0, entries: [], maxAgeMs: Number.POSITIVE_INFINITY, idleTtlMs: this.#streamIdleTtlMs, touchedAt: now };
      this.#streams.set(name, state);
    }
    state.touchedAt = now;
    return state;
  }

  /** Whether the stream has been idle past its limit: untouched that long and nobody subscribed. */
  #idle(name: string, state: MemoryStream, now: number): boolean {
    return state.idleTtlMs > 0 && now - state.touchedAt > state.idleTtlMs && !this.#entryListeners.has(name);
  }

  /**
   * The stream, created if new (as `#stream` does), or only the epoch of a stored session's
   * direct stream that nothing was written to yet (see `createSession`).
   */
  #existing(name: string): MemoryStream | string {
    if (this.#streams.has(name)) return this.#stream(name);
    const owner = this.#directOwner(name);
    return owner?.session.ownEpoch(owner.id) ?? this.#stream(name);
  }

  /** The stored session whose direct stream `name` is, if any. */
  #directOwner(name: string): { id: string; session: StoredSession } | undefined {
    if (!name.startsWith(SESSION_STREAM_PREFIX)) return undefined;
    const id = name.slice(SESSION_STREAM_PREFIX.length);
    const session = this.#peek(id);
    return session === undefined ? undefined : { id, session };
  }

  #state(scope: string): MemoryState {
    let state = this.#states.get(scope);
    if (state === undefined) {
      state = { version: 0, events: [], snapshot: null };
      this.#states.set(scope, state);
    }
    return state;
  }

  #trimByAge(state: MemoryStream): void {
    const cutoff = this.#now() - state.maxAgeMs;
    let drop = 0;
    while (drop < state.entries.length && state.entries[drop]!.ts < cutoff) drop++;
    if (drop > 0) state.entries.splice(0, drop);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [name, state] of this.#streams) {
      if (this.#idle(name, state, now)) this.#streams.delete(name);
      else this.#trimByAge(state);
    }
  }
}

/** Default of `streamIdleTtlMs`: 7 days. */
const DEFAULT_STREAM_IDLE_TTL_MS = 7 * 24 * 3_600_000;

function infoOf(state: MemoryStream): StreamInfo {
  const first = state.entries[0];
  return { epoch: state.epoch, firstOffset: first === undefined ? state.lastOffset + 1 : first.offset, lastOffset: state.lastOffset };
}

/**
 * The `#parked` key of a session id: an id as the server makes them (22 base64url characters for
 * 16 random bytes) as its 16 bytes, 8 bytes less per parked session; any other id as it is
 * behind a character no byte has, so the two kinds never collide.
 */
function parkKey(id: string): string {
  if (id.length === 22 && BASE64URL.test(id)) {
    const bytes = Buffer.from(id, 'base64url');
    if (bytes.length === 16 && bytes.toString('base64url') === id) return bytes.toString('latin1');
  }
  return `\u0100${id}`;
}

function idOfParkKey(key: string): string {
  return key.charCodeAt(0) === 0x100 ? key.slice(1) : Buffer.from(key, 'latin1').toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Prefix of a session's direct stream name (see `sessionStream`). */
const SESSION_STREAM_PREFIX = sessionStream('');

function addTo<T>(map: Map<string, Set<T>>, key: string, value: T): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function removeFrom<T>(map: Map<string, Set<T>>, key: string, value: T): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/**
 * A frozen deep copy of JSON data, in one pass: stored data is shared by every reader and
 * listener, so nobody may change it, and the caller may still change what it passed in.
 */
function frozenCopy(value: Json): Json {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map(frozenCopy);
    Object.freeze(items);
    return items;
  }
  const copy: { [key: string]: Json } = {};
  for (const key of Object.keys(value)) {
    const child = frozenCopy(value[key]!);
    // An own `__proto__` key (JSON.parse makes one) must stay data, not set the prototype.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: child, enumerable: true, writable: true, configurable: true });
    else copy[key] = child;
  }
  return Object.freeze(copy);
}
