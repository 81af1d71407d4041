/**
 * The server's store interface: sessions, streams with history, inbound dedup and state events.
 * `MemoryStore` implements it in one process; `RedisStore` across processes. Every method is
 * async and self-contained (no synchronous cross-calls), so a network store can honour it, and
 * every write that must be atomic is one call.
 */
import type { Json, Position, Positions } from '../../protocol/index.js';

/** A session as stored. The resume token itself is never stored: only its SHA-256 (hex). */
export interface SessionRecord {
  id: string;
  /** SHA-256 (hex) of the current resume token. */
  tokenHash: string;
  /**
   * SHA-256 (hex) of the token the client presented at its last resume, still accepted until
   * the current one is used: a client that crashed before storing the rotated token can resume
   * with the one it has. Absent (or '') for a session never resumed. Optional for stores written
   * before it existed.
   */
  prevTokenHash?: string;
  /** User id from `authenticate`, or null for anonymous sessions. */
  user: string | null;
  /** Rooms the session is in, with the stream position at which it joined. */
  rooms: Record<string, Position>;
  /** Positions the client acknowledged (`POSITION_ACK`), per stream. */
  positions: Positions;
  /** Last client `seq` processed (inbound dedup). */
  lastSeq: number;
  /** Creation time, ms since epoch. */
  createdAt: number;
  /** Which connection holds the session (`<instanceId>/<connectionId>`), or null when detached. */
  owner: string | null;
  /** When the session expires if nobody attaches (ms since epoch); null while attached. */
  expiresAt: number | null;
}

/** Fields of a session that `updateSession` may change. */
export type SessionUpdate = Partial<Pick<SessionRecord, 'tokenHash' | 'prevTokenHash' | 'user' | 'rooms' | 'positions'>>;

/** Retention of a stream's history. */
export interface Retention {
  /** Keep at most this many entries (default 1000). */
  maxCount: number;
  /** Drop entries older than this many ms (default 3600000 = 1 hour). */
  maxAgeMs: number;
  /**
   * Forget the stream (its epoch, last offset and history) once it has been idle this many ms:
   * no append, no read or `info`, no subscriber (a stream is touched again when its last
   * subscriber leaves). Its next use starts a new epoch, so a client still holding a position
   * in the old one is told `epoch_changed`. 0 = never forget. Optional: without it the store
   * keeps the value of the stream's previous append, or its own default for a new stream.
   */
  idleTtlMs?: number;
}

/** What the server asks to append to a stream. */
export interface EntryInput {
  /** Sender's message id. */
  id: string;
  /** Sender session id, or null for server-originated messages. */
  from: string | null;
  /** Sender user id. */
  user: string | null;
  data: Json;
}

/** A stored stream entry. */
export interface StreamEntry extends EntryInput {
  stream: string;
  epoch: string;
  offset: number;
  /** Server time when stored, ms since epoch. */
  ts: number;
}

/** A stream's bounds: entries `firstOffset..lastOffset` are retained (`firstOffset > lastOffset` when empty). */
export interface StreamInfo {
  epoch: string;
  /** Oldest retained offset (lastOffset + 1 when the stream holds nothing). */
  firstOffset: number;
  /** Latest offset ever assigned in this epoch (0 when none). */
  lastOffset: number;
}

/** Dedup check made atomically with a write: `seq` must be `lastSeq + 1` of that session. */
export interface Dedup {
  sessionId: string;
  seq: number;
}

/** Result of a deduplicated write. */
export type DedupStatus =
  | { status: 'duplicate'; lastSeq: number }
  | { status: 'out_of_order'; lastSeq: number }
  | { status: 'no_session' };

/** Result of `append`. */
export type AppendResult = { status: 'appended'; entry: StreamEntry } | DedupStatus;

/** Result of `advanceSeq`. */
export type AdvanceResult = { status: 'ok' } | DedupStatus;

/** A stored blob: JSON text, or zlib-deflated JSON in base64 (the state engine decides). */
export interface Blob {
  encoding: 'json' | 'deflate';
  data: string;
}

/** A state event as stored: the event that produced `version`. */
export interface StoredStateEvent {
  version: number;
  event: Blob;
}

/** A state snapshot: the whole value at `version`. */
export interface Snapshot {
  version: number;
  value: Blob;
  /** When it was taken, ms since epoch. */
  ts: number;
}

/** Result of `appendStateEvent`. */
export type StateAppendResult =
  | { status: 'appended'; version: number }
  | { status: 'conflict'; version: number }
  | DedupStatus;

/** Messages instances exchange (takeover, fault injection). */
export type ControlMessage =
  | { kind: 'takeover'; sessionId: string; owner: string }
  | { kind: 'disconnect'; sessionId: string; code: number }
  | { kind: 'end'; sessionId: string };

/** Listener for live entries of a stream, in offset order. */
export type EntryListener = (entry: StreamEntry) => void;

/** Listener for new versions of a state scope (any instance), in version order. */
export type VersionListener = (scope: string, version: number) => void;

/** The store every server instance talks to. */
export interface Store {
  /** Short name for logs and metrics (`memory`, `redis`). */
  readonly kind: string;

  // ---- sessions
  /** Store a new session. */
  createSession(record: SessionRecord): Promise<void>;
  /** A session, or null when unknown or expired. */
  getSession(id: string): Promise<SessionRecord | null>;
  /** Change some fields of a session; false when it does not exist. */
  updateSession(id: string, update: SessionUpdate): Promise<boolean>;
  /**
   * Attach `owner` to the session (clears its expiry). Returns the previous owner (another
   * connection to take over from), or null; `undefined` when the session does not exist.
   */
  attachSession(id: string, owner: string): Promise<string | null | undefined>;
  /**
   * Apply `update` and attach `owner` (as `updateSession` then `attachSession`, with nothing in
   * between), and return the previous owner (null when detached) with the session as it is
   * then; undefined when the session does not exist, or — when `presentedHash` is given — when
   * it is neither the session's `tokenHash` nor its `prevTokenHash` any more (a concurrent resume
   * retired the token between the caller's check and this call). Optional: a resume then makes
   * those two calls and a `getSession`, without that check.
   */
  resumeSession?(id: string, update: SessionUpdate, owner: string, presentedHash?: string): Promise<{ previous: string | null; record: SessionRecord } | undefined>;
  /** Detach if `owner` still holds the session: it then expires in `ttlMs`. False otherwise. */
  detachSession(id: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Remove a session at once (client said `BYE`). */
  deleteSession(id: string): Promise<void>;
  /**
   * Remove and return the ids of up to `limit` sessions whose expiry is at or before `now`.
   * Each id is returned to exactly one caller, across all instances.
   */
  takeExpiredSessions(now: number, limit: number): Promise<string[]>;
  /**
   * Advance the session's `lastSeq` to `seq` (which must be `lastSeq + 1`) and apply `update`,
   * atomically. Used for sequenced operations that append nothing (join, leave, refusals).
   */
  advanceSeq(sessionId: string, seq: number, update?: SessionUpdate): Promise<AdvanceResult>;

  // ---- streams
  /**
   * Append to a stream, assign the next offset, trim by `retention` and notify subscribers on
   * every instance. With `dedup`, atomically also check and advance the sender's `lastSeq`.
   * Resolves only once the entry is durable in the store.
   */
  append(stream: string, input: EntryInput, retention: Retention, dedup?: Dedup): Promise<AppendResult>;
  /**
   * Entries after `afterOffset`, oldest first, at most `limit`; with the stream's bounds (a read
   * touches the stream: see `Retention.idleTtlMs`). The
   * entries may be shared with other readers (and listeners): do not mutate them.
   * `known`: bounds of the stream that the caller read after it subscribed (with `info` or a
   * read). A store may then answer as of those bounds, from entries it keeps, without reading
   * again: what was appended since reaches the caller's subscription anyway.
   */
  read(stream: string, afterOffset: number, limit: number, known?: StreamInfo): Promise<{ info: StreamInfo; entries: StreamEntry[] }>;
  /** The stream's epoch and bounds (creating its epoch if the stream is new). */
  info(stream: string): Promise<StreamInfo>;
  /**
   * Listen to entries appended to `stream` from now on (any instance). Resolves once subscribed.
   * A stream with a subscriber is never forgotten as idle (see `Retention.idleTtlMs`).
   */
  subscribe(stream: string, listener: EntryListener): Promise<void>;
  /** Stop a listener added by `subscribe` (which touches the stream). */
  unsubscribe(stream: string, listener: EntryListener): Promise<void>;
  /** Delete a stream and its history (e.g. a session's direct stream when the session ends). */
  deleteStream(stream: string): Promise<void>;

  // ---- state (scopes here are global keys: `room:<name>` or `session:<id>`)
  /**
   * Append the event producing `expectedVersion + 1` (`conflict` if the version moved), with
   * `dedup` atomically, and notify `subscribeState` listeners on every instance.
   */
  appendStateEvent(scope: string, expectedVersion: number, event: Blob, dedup?: Dedup): Promise<StateAppendResult>;
  /** Events with version > `afterVersion`, in order. */
  readStateEvents(scope: string, afterVersion: number): Promise<StoredStateEvent[]>;
  /** The latest version of a scope (0 when it has no events). */
  stateVersion(scope: string): Promise<number>;
  /** The latest snapshot, or null. */
  getSnapshot(scope: string): Promise<Snapshot | null>;
  /** Store a snapshot and drop the events it covers. */
  putSnapshot(scope: string, snapshot: Snapshot): Promise<void>;
  /** Delete a scope's events and snapshot. */
  deleteState(scope: string): Promise<void>;
  /** Listen to versions appended to `scope` from now on (any instance). Resolves once subscribed. */
  subscribeState(scope: string, listener: VersionListener): Promise<void>;
  /** Stop a listener added by `subscribeState`. */
  unsubscribeState(scope: string, listener: VersionListener): Promise<void>;

  // ---- instance liveness (optional: only a store shared by several processes needs it)
  /**
   * Mark instance `instanceId` alive for `ttlMs`. Resolves false when it was not alive just
   * before (its first beat, or its liveness lapsed and its sessions may have been reclaimed).
   * Optional: without it (one process, e.g. `MemoryStore`) the server does no liveness work.
   */
  heartbeat?(instanceId: string, ttlMs: number): Promise<boolean>;
  /**
   * Detach up to `limit` sessions whose owner (`<instanceId>/<connectionId>`) is on an instance
   * that is dead: no `heartbeat` within its ttl, and first seen at least `graceMs` before `now`.
   * Each then expires at `now + ttlMs` like any detached session. Returns their ids; each id
   * goes to exactly one caller. Optional, together with `heartbeat`.
   */
  reclaimSessions?(now: number, ttlMs: number, graceMs: number, limit: number): Promise<string[]>;

  // ---- expired-session tombstones and per-user counts (optional: a store without them makes
  // the server report `unknown` for an expired session and skip `maxSessionsPerUser`)
  /** Remember for `ttlMs` that session `id` expired, so a late resume can be told `expired`. */
  markExpired?(id: string, ttlMs: number): Promise<void>;
  /** Whether session `id` expired: marked by `markExpired` within its ttl, or past its expiry and not yet swept. */
  wasExpired?(id: string): Promise<boolean>;
  /** How many live (attached or not yet expired) sessions belong to `user`. */
  countUserSessions?(user: string): Promise<number>;

  // ---- instances
  /** Send a control message to every instance (including this one). */
  publishControl(message: ControlMessage): Promise<void>;
  /** Receive control messages. */
  onControl(listener: (message: ControlMessage) => void): void;
  /** Resolves when the store is reachable; rejects otherwise. */
  ping(): Promise<void>;
  /** Release connections and timers. */
  close(): Promise<void>;
}
