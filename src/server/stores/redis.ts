/**
 * The Redis store: several server processes share sessions, streams, dedup state, state events
 * and fan-out. Loaded lazily by the server (`await import('./stores/redis.js')`), so users of
 * the in-memory store never load ioredis.
 *
 * Why ioredis rather than node-redis: it is what the source article uses, it is mature at the
 * three things this store leans on (Lua scripts via `defineCommand` with EVALSHA fallback,
 * pipelining, automatic reconnection with backoff), and socket.io's Redis adapters run on it.
 * node-redis would do too; nothing outside this file depends on the choice.
 *
 * Key layout and script contracts: see `redis-keys.ts`, `redis-scripts.ts` and docs/scaling.md.
 */
import { Redis } from 'ioredis';
import { ResilientSocketError } from '../../protocol/errors.js';
import type {
  AdvanceResult,
  AppendResult,
  Blob,
  ControlMessage,
  Dedup,
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
import { checkFunction, checkNonNegativeInteger, checkString, invalidOption } from './invalid-option.js';
import { checkRetention } from './check-retention.js';
import { RedisKeys } from './redis-keys.js';
import { RedisLink } from './redis-link.js';
import * as scripts from './redis-scripts.js';
import { entryBody, messageToEntry, parseSession, rowToEntry, sessionFields, toEntry, updateFields } from './redis-codec.js';
import { StreamFeed } from './redis-feed.js';
import { randomId } from '../sessions.js';
import { EntryCache } from './redis-entry-cache.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Redis URL (default: the `REDIS_URL` environment variable, else `redis://127.0.0.1:6379`). */
  url?: string;
  /** Prefix of every key and channel (default `'rs:'`). Instances that share data share it. */
  keyPrefix?: string;
  /**
   * An existing ioredis client to use for commands instead of connecting to `url`. The store
   * duplicates it for its subscriber connection, does not change its options, and does not
   * quit it on `close()`.
   */
  client?: Redis;
  /**
   * A command not answered within this many ms fails with `ERR_STORE_UNAVAILABLE` (default
   * 2000). Commands issued while the connection is down fail at once; while it is being
   * (re)established they wait at most this long. 0 disables the per-command timeout (a call
   * still waits at most 10 s for a connection attempt).
   */
  commandTimeoutMs?: number;
  /** Name of both connections in `CLIENT LIST` (default `'resilient-socket'`). */
  connectionName?: string;
  /** Clock in ms since epoch, for entry timestamps, age retention and session expiry (default `Date.now`). */
  now?: () => number;
  /** Source of new stream epochs (default: 64 random bits, base64url). */
  newEpoch?: () => string;
  /** Receives what a listener throws (default: `console.error`); delivery continues. */
  onListenerError?: (error: unknown) => void;
  /**
   * Forget a stream (its meta expires) after this many ms without an append, a read or a
   * subscriber, for streams whose appends name no `Retention.idleTtlMs` (a stream only read so
   * far, or a meta written by an older version). Default 604800000 (7 days); 0 = never. The
   * server passes its `streamIdleTtl`.
   */
  streamIdleTtlMs?: number;
  /**
   * A stream's key expires this many ms after its age limit (`Retention.maxAgeMs`) past its last
   * append (default 60000). Expiry runs on Redis's clock while age trimming runs on the
   * instances' (and a test's injected) clock: the margin keeps the expiry from dropping entries
   * an instance still counts as young.
   */
  expiryMarginMs?: number;
  /**
   * Receives connection trouble (every error the clients emit). Default: one `console.warn` when
   * Redis becomes unreachable and one when it is back.
   */
  onError?: (error: Error) => void;
  /**
   * Called with `false` (and the error) when Redis becomes unreachable and with `true` when it
   * is reachable again: one call per transition, for logs and alerts. Default: none (the
   * `console.warn` pair described at `onError` applies when neither option is given).
   */
  onAvailabilityChange?: (available: boolean, error?: Error) => void;
}

type Refusal = ['no_session'] | ['duplicate' | 'out_of_order', number];

/** This instance's subscription of one stream. */
interface Feed {
  feed: StreamFeed;
  ready: Promise<void>;
  /** Set while a direct stream without listeners keeps its subscription (see `unsubscribe`). */
  linger?: ReturnType<typeof setTimeout> | undefined;
}

/**
 * How long (ms) the subscription of a session's direct stream outlives its last listener. A
 * session cut from this instance usually resumes here within seconds (the client's backoff, a
 * page reload), and then needs no SUBSCRIBE and no UNSUBSCRIBE; one resumed elsewhere costs
 * this instance an idle channel for this long.
 */
const DIRECT_LINGER_MS = 30_000;

/**
 * A `Store` on Redis, shared by every instance using the same Redis and `keyPrefix`. Every
 * atomic write is one Lua script. Live entries reach listeners through pub/sub, so a listener
 * may run before or after the writer's `append` resolves; on every instance they arrive in
 * offset order, once, with holes from connection drops filled from history (`StreamFeed`).
 * Failures reject with `ERR_STORE_UNAVAILABLE` (retry later) or `ERR_INTERNAL`.
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly #keys: RedisKeys;
  readonly #link: RedisLink;
  readonly #now: () => number;
  readonly #newEpoch: () => string;
  readonly #onListenerError: (error: unknown) => void;
  readonly #feeds = new Map<string, Feed>();
  readonly #versionListeners = new Map<string, { listeners: Set<VersionListener>; last: number }>();
  readonly #controlListeners = new Set<(message: ControlMessage) => void>();
  /** Reads not sent yet, by stream, offset and limit (see `read`). */
  readonly #pendingReads = new Map<string, Promise<{ info: StreamInfo; entries: StreamEntry[] }>>();
  /** Entries read recently, so that the next reads of the same range fetch only the bounds. */
  readonly #entryCache = new EntryCache();
  /** The store check under way (see `ping`). */
  #ping: Promise<void> | undefined;
  readonly #streamIdleTtlMs: number;
  readonly #expiryMarginMs: number;
  /** Shortest positive idle limit this instance has used: its subscribed streams are touched well within it. */
  #shortestIdleMs: number;
  #touchTimer: ReturnType<typeof setTimeout> | undefined;
  /** Streams whose last local member left in this event-loop turn, touched together at its end. */
  readonly #leftStreams = new Set<string>();
  #closed = false;

  constructor(options: RedisStoreOptions = {}) {
    checkString('url', options.url);
    if (options.keyPrefix !== undefined && typeof options.keyPrefix !== 'string') throw invalidOption('keyPrefix', 'a string');
    if (options.client !== undefined && !(options.client instanceof Redis)) throw invalidOption('client', 'an ioredis Redis instance');
    checkNonNegativeInteger('commandTimeoutMs', options.commandTimeoutMs);
    if (options.connectionName !== undefined && !(typeof options.connectionName === 'string' && /^[!-~]+$/.test(options.connectionName))) {
      throw invalidOption('connectionName', 'a non-empty string of printable ASCII without spaces');
    }
    checkFunction('now', options.now);
    checkFunction('newEpoch', options.newEpoch);
    checkFunction('onListenerError', options.onListenerError);
    checkFunction('onError', options.onError);
    checkFunction('onAvailabilityChange', options.onAvailabilityChange);
    checkNonNegativeInteger('streamIdleTtlMs', options.streamIdleTtlMs);
    checkNonNegativeInteger('expiryMarginMs', options.expiryMarginMs);
    this.#streamIdleTtlMs = options.streamIdleTtlMs ?? DEFAULT_STREAM_IDLE_TTL_MS;
    this.#expiryMarginMs = options.expiryMarginMs ?? 60_000;
    this.#shortestIdleMs = this.#streamIdleTtlMs > 0 ? this.#streamIdleTtlMs : Number.POSITIVE_INFINITY;
    this.#keys = new RedisKeys(options.keyPrefix ?? 'rs:');
    this.#now = options.now ?? Date.now;
    // Every read sends a candidate epoch (used only if the stream is new): drawn from a pool.
    this.#newEpoch = options.newEpoch ?? (() => randomId(8));
    this.#onListenerError = options.onListenerError ?? ((error) => console.error('resilient-socket: store listener failed', error));
    this.#link = new RedisLink({
      url: options.url ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      client: options.client,
      commandTimeoutMs: options.commandTimeoutMs ?? 2000,
      connectionName: options.connectionName ?? 'resilient-socket',
      onError: options.onError,
      onAvailabilityChange: options.onAvailabilityChange,
      onMessage: (channel, message) => this.#onMessage(channel, message),
      onResubscribed: () => this.#resync(),
    });
    // Control messages are always wanted; if Redis is down now, the link subscribes on connect.
    this.#link.listen(this.#keys.controlChannel(), true).catch(() => undefined);
    this.#scheduleTouch();
  }

  // ---- sessions

  async createSession(record: SessionRecord): Promise<void> {
    const expiresAt = record.expiresAt === null ? '' : String(record.expiresAt);
    const args = [record.id, expiresAt, this.#keys.prefix, this.#now(), ...sessionFields(record)];
    await this.#link.script('rsCreateSession', scripts.CREATE_SESSION, [this.#keys.session(record.id), this.#keys.expiry()], args);
    if (record.user !== null) await this.#link.run((redis) => redis.sadd(this.#keys.userSessions(record.user!), record.id));
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const hash = await this.#link.run((redis) => redis.hgetall(this.#keys.session(id)));
    const session = parseSession(id, hash);
    if (session === null || (session.expiresAt !== null && session.expiresAt <= this.#now())) return null;
    return session;
  }

  async updateSession(id: string, update: SessionUpdate): Promise<boolean> {
    const fields = updateFields(update);
    if (fields.length === 0) return (await this.getSession(id)) !== null;
    const updated = (await this.#link.script('rsUpdateSession', scripts.UPDATE_SESSION, [this.#keys.session(id)], [this.#now(), ...fields])) === 1;
    if (updated) await this.#indexUser(id, update);
    return updated;
  }

  /**
   * A session bound to a user after its creation (`AUTH`, a resume with credentials) joins that
   * user's index, as `createSession` does, or `maxSessionsPerUser` would not count it.
   */
  async #indexUser(id: string, update: SessionUpdate): Promise<void> {
    const user = update.user;
    if (typeof user === 'string') await this.#link.run((redis) => redis.sadd(this.#keys.userSessions(user), id));
  }

  async resumeSession(id: string, update: SessionUpdate, owner: string, presentedHash?: string): Promise<{ previous: string | null; record: SessionRecord } | undefined> {
    const keys = [this.#keys.session(id), this.#keys.expiry()];
    const result = (await this.#link.script('rsResume', scripts.RESUME, keys, [this.#now(), owner, id, this.#keys.prefix, presentedHash ?? '', ...updateFields(update)])) as [number, string?, string[]?];
    if (result[0] !== 1) return undefined;
    const flat = result[2] ?? [];
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
    const record = parseSession(id, hash);
    if (record === null) return undefined;
    await this.#indexUser(id, update);
    return { previous: result[1] ? result[1] : null, record };
  }

  async attachSession(id: string, owner: string): Promise<string | null | undefined> {
    const result = (await this.#link.script('rsAttach', scripts.ATTACH, [this.#keys.session(id), this.#keys.expiry()], [this.#now(), owner, id, this.#keys.prefix])) as [number, string?];
    if (result[0] !== 1) return undefined;
    return result[1] ? result[1] : null;
  }

  async detachSession(id: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.#link.script('rsDetach', scripts.DETACH, [this.#keys.session(id), this.#keys.expiry()], [this.#now(), owner, ttlMs, id, this.#keys.prefix])) === 1;
  }

  async deleteSession(id: string): Promise<void> {
    await this.#link.script('rsDeleteSession', scripts.DELETE_SESSION, [this.#keys.session(id), this.#keys.expiry()], [id, this.#keys.prefix]);
  }

  async takeExpiredSessions(now: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return (await this.#link.script('rsTakeExpired', scripts.TAKE_EXPIRED, [this.#keys.expiry()], [now, limit, this.#keys.session('')])) as string[];
  }

  async markExpired(id: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    await this.#link.run((redis) => redis.set(this.#keys.expired(id), '1', 'PX', Math.floor(ttlMs)));
  }

  async wasExpired(id: string): Promise<boolean> {
    const [marked, expiresAt] = await this.#link.run((redis) => Promise.all([redis.exists(this.#keys.expired(id)), redis.hget(this.#keys.session(id), 'expiresAt')]));
    return marked === 1 || (expiresAt !== null && expiresAt !== '' && Number(expiresAt) <= this.#now());
  }

  /** Counts the live sessions in the user's index and prunes the dead ones (not atomic with `createSession`). */
  async countUserSessions(user: string): Promise<number> {
    const key = this.#keys.userSessions(user);
    const ids = await this.#link.run((redis) => redis.smembers(key));
    if (ids.length === 0) return 0;
    const states = await this.#link.run((redis) => Promise.all(ids.map((id) => redis.hmget(this.#keys.session(id), 'lastSeq', 'expiresAt'))));
    const now = this.#now();
    const dead = ids.filter((_, i) => {
      const [lastSeq, expiresAt] = states[i]!;
      return lastSeq === null || (expiresAt !== null && expiresAt !== '' && Number(expiresAt) <= now);
    });
    if (dead.length > 0) await this.#link.run((redis) => redis.srem(key, ...dead));
    return ids.length - dead.length;
  }

  async advanceSeq(sessionId: string, seq: number, update?: SessionUpdate): Promise<AdvanceResult> {
    const fields = update === undefined ? [] : updateFields(update);
    const result = (await this.#link.script('rsAdvanceSeq', scripts.ADVANCE_SEQ, [this.#keys.session(sessionId)], [this.#now(), seq, ...fields])) as ['ok'] | Refusal;
    return result[0] === 'ok' ? { status: 'ok' } : refusal(result as Refusal);
  }

  /**
   * Refreshes the liveness key of `instanceId` (it expires after `ttlMs` on Redis's clock, so
   * instance clocks do not matter). Resolves false when the key had lapsed or never existed.
   */
  async heartbeat(instanceId: string, ttlMs: number): Promise<boolean> {
    checkInstanceId(instanceId);
    const keys = [this.#keys.instance(instanceId), this.#keys.instances()];
    return (await this.#link.script('rsHeartbeat', scripts.HEARTBEAT, keys, [instanceId, Math.max(1, Math.floor(ttlMs)), this.#now()])) === 1;
  }

  async reclaimSessions(now: number, ttlMs: number, graceMs: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const args = [now, Math.max(0, Math.floor(ttlMs)), Math.max(0, Math.floor(graceMs)), Math.floor(limit), this.#keys.prefix];
    return (await this.#link.script('rsReclaim', scripts.RECLAIM, [this.#keys.instances(), this.#keys.expiry()], args)) as string[];
  }

  // ---- streams

  async append(stream: string, input: EntryInput, retention: Retention, dedup?: Dedup): Promise<AppendResult> {
    checkRetention(retention);
    const now = this.#now();
    const body = entryBody(input);
    const keys = [this.#keys.stream(stream), this.#keys.streamMeta(stream), dedup === undefined ? this.#keys.session('') : this.#keys.session(dedup.sessionId)];
    const idle = retention.idleTtlMs;
    if (idle !== undefined && idle > 0 && idle < this.#shortestIdleMs) {
      this.#shortestIdleMs = idle;
      this.#scheduleTouch();
    }
    const historyTtl = Math.min(Number.MAX_SAFE_INTEGER, retention.maxAgeMs + 1 + this.#expiryMarginMs);
    const args = [
      now, retention.maxCount, retention.maxAgeMs, body, this.#newEpoch(), dedup === undefined ? '' : dedup.seq, this.#keys.entriesChannel(stream),
      idle === undefined ? '' : String(idle), String(this.#streamIdleTtlMs), String(historyTtl),
    ];
    const result = (await this.#link.script('rsAppend', scripts.APPEND, keys, args)) as ['appended', number, string] | Refusal;
    if (result[0] !== 'appended') return refusal(result as Refusal);
    const [, offset, epoch] = result as ['appended', number, string];
    return { status: 'appended', entry: toEntry(stream, epoch, Number(offset), now, body) };
  }

  /**
   * Identical reads made in the same turn (the sessions of a room resuming together after a
   * storm) share one script call and its decoded entries. A read joins only one that is not sent
   * yet, so its answer is never older than the caller's call: sharing cannot miss an entry.
   * Entries kept from earlier reads are not read again: with `known` bounds that cover them the
   * read makes no call at all, otherwise one call reads what follows them and brings the fresh
   * bounds they are checked against.
   */
  async read(stream: string, afterOffset: number, limit: number, known?: StreamInfo): Promise<{ info: StreamInfo; entries: StreamEntry[] }> {
    const after = Math.max(0, Math.floor(afterOffset));
    const count = Math.max(0, Math.floor(limit));
    if (known !== undefined) {
      const entries = this.#entryCache.covering(stream, known, after, count);
      if (entries !== undefined) return { info: { ...known }, entries };
    }
    const kept = this.#entryCache.run(stream, after + 1, count);
    if (kept > 0) {
      const tail = await this.#sharedRead(stream, after + kept, count - kept);
      // The tail's bounds were read after this call: the kept head still answers if they cover it.
      const head = this.#entryCache.covering(stream, tail.info, after, kept);
      if (head !== undefined && (head.length === kept || tail.entries.length === 0)) return { info: tail.info, entries: head.concat(tail.entries) };
    }
    return this.#sharedRead(stream, after, count);
  }

  /** One read, joining an identical one of this turn that is not sent yet (see `read`). */
  async #sharedRead(stream: string, after: number, count: number): Promise<{ info: StreamInfo; entries: StreamEntry[] }> {
    // Without entries the start does not matter: every bounds read of the turn is one call.
    if (count === 0) after = 0;
    const key = `${stream}\n${after}\n${count}`;
    let pending = this.#pendingReads.get(key);
    if (pending === undefined) {
      pending = new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
        // Sent from here on: later reads make their own call.
        this.#pendingReads.delete(key);
        return this.#readNow(stream, after, count);
      });
      this.#pendingReads.set(key, pending);
    }
    const { info, entries } = await pending;
    return { info: { ...info }, entries: entries.slice() };
  }

  async #readNow(stream: string, after: number, count: number): Promise<{ info: StreamInfo; entries: StreamEntry[] }> {
    const keys = [this.#keys.stream(stream), this.#keys.streamMeta(stream)];
    const args = [this.#now(), this.#newEpoch(), after, count, String(this.#streamIdleTtlMs)];
    const [epoch, first, last, rows] = (await this.#link.script('rsRead', scripts.READ, keys, args)) as [string, number, number, Array<[string, string[]]>];
    const entries = rows.map((row) => rowToEntry(stream, epoch, row));
    this.#entryCache.keep(stream, entries, rows.reduce((chars, row) => chars + (row[1][3]?.length ?? 0), 0));
    return { info: { epoch, firstOffset: Number(first), lastOffset: Number(last) }, entries };
  }

  async info(stream: string): Promise<StreamInfo> {
    return (await this.read(stream, 0, 0)).info;
  }

  async subscribe(stream: string, listener: EntryListener): Promise<void> {
    const existing = this.#feeds.get(stream);
    if (existing !== undefined) {
      clearTimeout(existing.linger);
      existing.linger = undefined;
      existing.feed.listeners.add(listener);
      return existing.ready;
    }
    const feed = new StreamFeed((after, limit) => this.read(stream, after, limit), this.#onListenerError);
    feed.listeners.add(listener);
    const ready = (async () => {
      await this.#link.listen(this.#keys.entriesChannel(stream));
      // Only tells a later fill where to start; without it a fill starts at the first live entry.
      // Not awaited: the caller's own bounds read right after this resolves (a resume's, a
      // join's) then joins this one (see `read`) instead of costing a second script call.
      this.info(stream).then((info) => feed.setFloor(info), () => undefined);
    })();
    this.#feeds.set(stream, { feed, ready });
    try {
      await ready;
    } catch (error) {
      if (this.#feeds.get(stream)?.feed === feed) this.#feeds.delete(stream);
      throw error;
    }
  }

  async unsubscribe(stream: string, listener: EntryListener): Promise<void> {
    const entry = this.#feeds.get(stream);
    if (entry === undefined) return;
    entry.feed.listeners.delete(listener);
    if (entry.feed.listeners.size > 0) return;
    if (stream.startsWith('session:')) {
      // A session's direct stream: its session usually resumes here soon (a cut, a reload), and
      // then finds the subscription in place instead of paying a SUBSCRIBE (see DIRECT_LINGER_MS).
      if (entry.linger === undefined) {
        entry.linger = setTimeout(() => void this.#release(stream, entry), DIRECT_LINGER_MS);
        entry.linger.unref?.();
      }
      return;
    }
    await this.#release(stream, entry);
  }

  /** Ends this instance's subscription of `stream` unless a listener came (back) meanwhile. */
  async #release(stream: string, entry: Feed): Promise<void> {
    clearTimeout(entry.linger);
    entry.linger = undefined;
    if (this.#feeds.get(stream) !== entry || entry.feed.listeners.size > 0) return;
    this.#feeds.delete(stream);
    // The idle time starts when this instance's last member leaves (see `#scheduleTouch`).
    this.#touchSoon(stream);
    await this.#link.unlisten(this.#keys.entriesChannel(stream));
  }

  async deleteStream(stream: string): Promise<void> {
    this.#entryCache.forget(stream);
    const feed = this.#feeds.get(stream);
    if (feed?.linger !== undefined) await this.#release(stream, feed);
    await this.#link.run((redis) => redis.del(this.#keys.stream(stream), this.#keys.streamMeta(stream)));
  }

  // ---- state

  async appendStateEvent(scope: string, expectedVersion: number, event: Blob, dedup?: Dedup): Promise<StateAppendResult> {
    const keys = [this.#keys.stateEvents(scope), this.#keys.stateVersion(scope), dedup === undefined ? this.#keys.session('') : this.#keys.session(dedup.sessionId)];
    const args = [this.#now(), expectedVersion, event.encoding, event.data, dedup === undefined ? '' : dedup.seq, this.#keys.versionsChannel(scope)];
    const result = (await this.#link.script('rsAppendState', scripts.APPEND_STATE, keys, args)) as ['appended' | 'conflict', number] | Refusal;
    if (result[0] === 'appended' || result[0] === 'conflict') return { status: result[0], version: Number(result[1]) };
    return refusal(result as Refusal);
  }

  async readStateEvents(scope: string, afterVersion: number): Promise<StoredStateEvent[]> {
    const start = `${Math.max(0, Math.floor(afterVersion)) + 1}-0`;
    const rows = await this.#link.run((redis) => redis.xrange(this.#keys.stateEvents(scope), start, '+'));
    return rows.map(([id, fields]) => ({ version: Number.parseInt(id, 10), event: { encoding: fields[1] as Blob['encoding'], data: fields[3] ?? '' } }));
  }

  async stateVersion(scope: string): Promise<number> {
    return Number((await this.#link.run((redis) => redis.get(this.#keys.stateVersion(scope)))) ?? 0);
  }

  async getSnapshot(scope: string): Promise<Snapshot | null> {
    const hash = await this.#link.run((redis) => redis.hgetall(this.#keys.stateSnapshot(scope)));
    if (hash['version'] === undefined) return null;
    return { version: Number(hash['version']), ts: Number(hash['ts']), value: { encoding: hash['encoding'] as Blob['encoding'], data: hash['data'] ?? '' } };
  }

  async putSnapshot(scope: string, snapshot: Snapshot): Promise<void> {
    const keys = [this.#keys.stateSnapshot(scope), this.#keys.stateEvents(scope)];
    await this.#link.script('rsPutSnapshot', scripts.PUT_SNAPSHOT, keys, [snapshot.version, snapshot.value.encoding, snapshot.value.data, snapshot.ts]);
  }

  async deleteState(scope: string): Promise<void> {
    await this.#link.run((redis) => redis.del(this.#keys.stateEvents(scope), this.#keys.stateVersion(scope), this.#keys.stateSnapshot(scope)));
  }

  async subscribeState(scope: string, listener: VersionListener): Promise<void> {
    let entry = this.#versionListeners.get(scope);
    if (entry === undefined) {
      entry = { listeners: new Set(), last: 0 };
      this.#versionListeners.set(scope, entry);
    }
    entry.listeners.add(listener);
    try {
      await this.#link.listen(this.#keys.versionsChannel(scope));
    } catch (error) {
      entry.listeners.delete(listener);
      throw error;
    }
  }

  async unsubscribeState(scope: string, listener: VersionListener): Promise<void> {
    const entry = this.#versionListeners.get(scope);
    if (entry === undefined) return;
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0) return;
    this.#versionListeners.delete(scope);
    await this.#link.unlisten(this.#keys.versionsChannel(scope));
  }

  // ---- instances

  async publishControl(message: ControlMessage): Promise<void> {
    await this.#link.run((redis) => redis.publish(this.#keys.controlChannel(), JSON.stringify(message)));
  }

  onControl(listener: (message: ControlMessage) => void): void {
    this.#controlListeners.add(listener);
  }

  /**
   * Resolves when Redis answers on the command connection and the subscriber is listening.
   * Calls made while a check is under way share it (every resume of a storm checks the store):
   * its answer is at most one round trip old.
   */
  ping(): Promise<void> {
    this.#ping ??= this.#pingNow().finally(() => (this.#ping = undefined));
    return this.#ping;
  }

  async #pingNow(): Promise<void> {
    await this.#link.run((redis) => redis.ping());
    const control = this.#keys.controlChannel();
    if (!this.#link.isListening(control)) await this.#link.listen(control, true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#touchTimer !== undefined) clearTimeout(this.#touchTimer);
    this.#touchTimer = undefined;
    for (const { linger } of this.#feeds.values()) clearTimeout(linger);
    this.#feeds.clear();
    this.#versionListeners.clear();
    this.#controlListeners.clear();
    await this.#link.close();
  }

  // ---- internals

  /**
   * A subscribed stream is never forgotten while this instance has a member in it: its meta's
   * idle limit restarts every quarter of the shortest limit in use (at most hourly), and when the
   * last member leaves (`unsubscribe`). A detached member's session then expires (session TTL)
   * before the stream does (streamIdleTtl, at least the session TTL), unless the instance died:
   * see docs/scaling.md.
   */
  #scheduleTouch(): void {
    if (this.#closed) return;
    if (this.#touchTimer !== undefined) clearTimeout(this.#touchTimer);
    const delay = Math.max(10, Math.min(3_600_000, Math.floor(this.#shortestIdleMs / 4)));
    this.#touchTimer = setTimeout(() => {
      this.#touchTimer = undefined;
      this.#touch([...this.#feeds.keys()]).catch(() => undefined).finally(() => this.#scheduleTouch());
    }, delay);
    // Upkeep only: it must not keep a process alive on its own.
    this.#touchTimer.unref?.();
  }

  /**
   * Touch `stream` at the end of this event-loop turn, with every other stream left in it: when
   * the sessions of a cut instance all detach, one script call instead of one per session.
   */
  #touchSoon(stream: string): void {
    this.#leftStreams.add(stream);
    if (this.#leftStreams.size > 1) return;
    setImmediate(() => {
      const streams = [...this.#leftStreams];
      this.#leftStreams.clear();
      if (!this.#closed) this.#touch(streams).catch(() => undefined);
    });
  }

  /** Restart the idle limit of these streams' metas (those that exist), 1000 per script call. */
  async #touch(streams: string[]): Promise<void> {
    for (let i = 0; i < streams.length; i += 1000) {
      const keys = streams.slice(i, i + 1000).map((stream) => this.#keys.streamMeta(stream));
      await this.#link.script('rsTouchStreams', scripts.TOUCH_STREAMS, keys, [String(this.#streamIdleTtlMs)]);
    }
  }

  #onMessage(channel: string, message: string): void {
    const target = this.#keys.parseChannel(channel);
    if (target === undefined) return;
    if (target.kind === 'entries') {
      const entry = messageToEntry(target.name, message);
      if (entry !== undefined) this.#feeds.get(target.name)?.feed.push(entry);
    } else if (target.kind === 'versions') {
      this.#notifyVersion(target.name, Number(message), false);
    } else {
      let parsed: ControlMessage;
      try {
        parsed = JSON.parse(message) as ControlMessage;
      } catch {
        return;
      }
      for (const listener of [...this.#controlListeners]) this.#call(() => listener(parsed));
    }
  }

  #notifyVersion(scope: string, version: number, catchUp: boolean): void {
    const entry = this.#versionListeners.get(scope);
    // A catch-up after a reconnect reports only a version newer than the last one seen; live
    // messages always pass (a deleted scope restarts at 1).
    if (entry === undefined || (catchUp && !(version > entry.last))) return;
    entry.last = version;
    for (const listener of [...entry.listeners]) this.#call(() => listener(scope, version));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#onListenerError(error);
    }
  }

  /** After the subscriber reconnected and resubscribed: catch up on what pub/sub dropped. */
  #resync(): void {
    for (const { feed } of this.#feeds.values()) feed.resync();
    for (const scope of this.#versionListeners.keys()) {
      this.stateVersion(scope).then((version) => this.#notifyVersion(scope, version, true), () => undefined);
    }
  }
}

/** Instance ids end where an owner string's `/<connectionId>` starts. */
function checkInstanceId(instanceId: string): void {
  if (typeof instanceId !== 'string' || instanceId === '' || instanceId.includes('/')) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'instanceId must be a non-empty string without "/"');
  }
}

/** Default of `streamIdleTtlMs`: 7 days. */
const DEFAULT_STREAM_IDLE_TTL_MS = 7 * 24 * 3_600_000;

function refusal(result: Refusal): { status: 'no_session' } | { status: 'duplicate' | 'out_of_order'; lastSeq: number } {
  if (result[0] === 'no_session') return { status: 'no_session' };
  return { status: result[0], lastSeq: Number(result[1]) };
}
