/**
 * Options of `createServer`, their defaults and their validation.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { ResilientSocketError } from '../protocol/index.js';
import type { Json } from '../protocol/index.js';
import type { Retention, SessionRecord, Store } from './stores/store.js';
import type { ConnectionContext } from './context.js';
import { checkStateOption } from './state-option.js';
import type { ServerStateOptions } from './state-option.js';

/** Minimal pino-compatible logger: `(obj, msg)` at four levels. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What `authenticate` receives: the HTTP upgrade request and the `auth` field of the frame. */
export interface AuthenticateInput {
  request: IncomingMessage;
  credentials: Json | undefined;
}

/**
 * Decides who a connection is: a user id, `null` for anonymous, or `false` (or a throw) to refuse.
 * Runs on every handshake (new and resumed) and on `AUTH`.
 */
export type Authenticate = (input: AuthenticateInput) => string | null | false | Promise<string | null | false>;

/** Called for a `MESSAGE` with neither `room` nor `to`; the `ACK` is sent once it resolves. */
export type OnMessage = (ctx: ConnectionContext, data: Json, id: string) => void | Promise<void>;

/** Why a session ended. */
export type SessionEndReason = 'expired' | 'bye';

/**
 * Called once when a session ends (TTL passed, or the client said `BYE`). `record` is the last
 * record this instance knew, or null when another instance held the session.
 */
export type SessionExpired = (sessionId: string, record: SessionRecord | null, reason: SessionEndReason) => void | Promise<void>;

/** Where a Redis store is. */
export interface RedisStoreOption {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Prefix of every key (default chosen by `RedisStore`). */
  keyPrefix?: string;
}

/** Options of `createServer`. */
export interface ServerOptions {
  /** Port to listen on (0 = any free port). Ignored with `server`. Default 8080. */
  port?: number;
  /** Host to listen on. Ignored with `server`. Default `127.0.0.1`. */
  host?: string;
  /**
   * Length of the queue of connections the kernel accepted and the server has not yet taken
   * (`listen`'s backlog; Linux caps it at `net.core.somaxconn`). Ignored with `server`. Default
   * 4096, not Node's 511: when thousands of clients reconnect at once and the event loop is busy
   * for a moment, a full queue drops their SYNs, and each drop costs that client a 1 s (then 3 s,
   * 7 s) TCP retransmit before its reconnection even starts.
   */
  backlog?: number;
  /** An existing HTTP server to attach to instead of listening on a port. */
  server?: HttpServer;
  /** URL path WebSocket upgrades must use. Default: any path. */
  path?: string;
  /** A `Store`, or `{ redis, keyPrefix }` for a lazily loaded `RedisStore`. Default: a new `MemoryStore`. */
  store?: Store | RedisStoreOption;
  /** ms a detached session is kept for a resume. Default 300000 (5 minutes). */
  sessionTtl?: number;
  /** ms between expiry sweeps. Default min(sessionTtl, 5000). */
  sweepInterval?: number;
  /**
   * Shared stores (Redis): ms between this instance's liveness heartbeats, each followed by a
   * look for sessions of dead instances. Default 5000.
   */
  instanceHeartbeatInterval?: number;
  /**
   * Shared stores (Redis): ms after its last heartbeat at which an instance counts as dead; its
   * sessions are then detached and expire after `sessionTtl` unless resumed. Must exceed
   * `instanceHeartbeatInterval`. Default max(15000, 3 × instanceHeartbeatInterval).
   */
  instanceTtl?: number;
  /** ms a connection may take to send its handshake. Default 10000. */
  handshakeTimeout?: number;
  /** ms between WebSocket-level pings; a connection that missed the previous one is terminated. Default 30000. */
  pingInterval?: number;
  /** Client heartbeat interval announced in the handshake (ms). Default 10000. */
  heartbeatInterval?: number;
  /** Client heartbeat timeout announced in the handshake (ms). Default 5000. */
  heartbeatTimeout?: number;
  /** Largest accepted frame in bytes. Default 1048576 (1 MiB). */
  maxPayload?: number;
  /** Most rooms one session may be in. Default 100. */
  maxRoomsPerSession?: number;
  /**
   * Frames per second one connection may send after its handshake, enforced as a token bucket
   * refilled at this rate and holding up to `maxMessageBurst` frames; a frame with the bucket
   * empty gets `ERR_RATE_LIMITED` and the connection is closed with 4003 (the client reconnects
   * with backoff and re-sends; nothing accepted is lost). Announced as `limits.maxRate`.
   * 0 disables the limit. Default 100.
   */
  maxMessagesPerSecond?: number;
  /**
   * Frames a connection may send at once on top of the steady `maxMessagesPerSecond` (the
   * bucket's size; a connection starts with it full). It must cover a client flushing a full
   * offline queue right after it reconnects (the client's default `maxQueueLength` is 1000).
   * Default 2000.
   */
  maxMessageBurst?: number;
  /**
   * Most live sessions one authenticated user may hold (sessions of anonymous users are not
   * counted). A new session past it is refused with `ERR_SESSION_LIMIT` (close 4010); resuming
   * an existing session is always allowed. 0 disables the limit. Default 100.
   */
  maxSessionsPerUser?: number;
  /**
   * ms an expired session is remembered (a tombstone in the store) so a late `RECONNECT` is
   * answered with `reason: "expired"` instead of `"unknown"`. 0 disables. Default 86400000 (24 h).
   */
  tombstoneTtl?: number;
  /** History kept per stream. Default `{ maxCount: 1000, maxAgeMs: 3600000 }`. */
  retention?: Partial<Pick<Retention, 'maxCount' | 'maxAgeMs'>>;
  /**
   * ms a stream (a room's, or a session's direct stream) may stay idle — no message, no read or
   * join, no member connected to any instance — before the store forgets it: its history, its
   * epoch and its last offset. Its next message starts a new epoch, so a client that comes back
   * later with a position in the old one is told `recovered: false, reason: epoch_changed` (it
   * can no longer be told whether it missed anything), as after a store wipe. Must be 0 (never
   * forget: every stream ever used is kept) or at least `sessionTtl` and `retention.maxAgeMs`,
   * so a detached session never finds its rooms forgotten and idleness never cuts history that
   * retention still covers. Default max(604800000 (7 days), sessionTtl, retention.maxAgeMs).
   */
  streamIdleTtl?: number;
  /**
   * Entries kept in each session's direct stream (its outbox: direct messages waiting for a
   * resume, and their recent history). Older ones are trimmed; a resume that needed them is told
   * so (`recovered: false`, a `history_gap` for `session:<id>`): never a silent hole, and memory
   * per session stays bounded however long the client is away. Default: `retention.maxCount`.
   */
  maxOutbox?: number;
  /**
   * Bytes a connection's send buffer may hold before it is cut as a slow consumer (close 4004;
   * it recovers what it missed on reconnect). Default 8388608 (8 MiB).
   */
  maxBufferedBytes?: number;
  /** Connections allowed to be between upgrade and handshake answer; more are closed with 4010. Default 10000. */
  maxPendingHandshakes?: number;
  /** Resumes with a wrong token allowed per client address per minute; more are refused (4003). Default 10. */
  maxFailedResumes?: number;
  /** Accepted `Origin` headers; others are closed with 4007. Requests without Origin (non-browsers) pass. Default: any. */
  allowedOrigins?: string[];
  /** Decides who connects. Default: everyone, anonymous. */
  authenticate?: Authenticate;
  /** Handles messages addressed to the server itself. Default: ignore (still acknowledged). */
  onMessage?: OnMessage;
  /** Called when a session ends. */
  sessionExpired?: SessionExpired;
  /** Structured logger (pino-compatible). Default: silent. */
  logger?: Logger;
  /** Serve `POST /_faults/disconnect`. Default false: tests and demos only. */
  faults?: boolean;
  /** Serve the demo page and the UMD bundle. `{ dir }` serves another directory. Default false. */
  demo?: boolean | { dir: string };
  /**
   * Versioned, event-sourced state per session and per room, kept in this server's store (see
   * {@link ServerStateOptions} and docs/state.md). Default: none (`STATE_*` frames are answered
   * with `ERR_NO_STATE`).
   */
  state?: ServerStateOptions;
}

/** Options with defaults applied. @internal */
export interface ResolvedOptions {
  port: number;
  host: string;
  backlog: number;
  server: HttpServer | undefined;
  path: string | undefined;
  sessionTtl: number;
  sweepInterval: number;
  instanceHeartbeatInterval: number;
  instanceTtl: number;
  handshakeTimeout: number;
  pingInterval: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  maxPayload: number;
  maxRoomsPerSession: number;
  maxMessagesPerSecond: number;
  maxMessageBurst: number;
  maxSessionsPerUser: number;
  tombstoneTtl: number;
  /** ms an idle stream is kept (0 = forever); also in `retention.idleTtlMs`. */
  streamIdleTtl: number;
  retention: Retention;
  /** Retention of session (direct) streams: `retention` with `maxCount = maxOutbox`. */
  outboxRetention: Retention;
  maxBufferedBytes: number;
  maxPendingHandshakes: number;
  maxFailedResumes: number;
  allowedOrigins: ReadonlySet<string> | undefined;
  authenticate: Authenticate | undefined;
  onMessage: OnMessage | undefined;
  sessionExpired: SessionExpired | undefined;
  logger: Logger;
  faults: boolean;
  demo: { dir: string | undefined } | undefined;
}

/** Default of `streamIdleTtl` (unless `sessionTtl` or `retention.maxAgeMs` is longer): 7 days. */
const DEFAULT_STREAM_IDLE_TTL = 7 * 24 * 3_600_000;

const noop = (): void => {};
/** A logger that drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

function invalid(message: string): ResilientSocketError {
  return new ResilientSocketError('ERR_INVALID_OPTION', message);
}

function int(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`options.${name} must be an integer >= ${min}`);
  }
  return value;
}

function fn<T>(value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid(`options.${name} must be a function`);
  return value as T;
}

function origins(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((o) => typeof o === 'string')) throw invalid('options.allowedOrigins must be an array of strings');
  return new Set(value as string[]);
}

/** Apply defaults and validate. Throws `ERR_INVALID_OPTION` with the offending option's name. @internal */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const port = int(options.port, 'port', 8080, 0);
  if (port > 65535) throw invalid('options.port must be an integer from 0 to 65535');
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) {
    throw invalid('options.host must be a non-empty string');
  }
  if (options.server !== undefined && (typeof options.server !== 'object' || typeof options.server.on !== 'function')) {
    throw invalid('options.server must be an http.Server');
  }
  if (options.path !== undefined && (typeof options.path !== 'string' || !options.path.startsWith('/'))) {
    throw invalid('options.path must be a string starting with "/"');
  }
  const sessionTtl = int(options.sessionTtl, 'sessionTtl', 300_000, 1);
  const instanceHeartbeatInterval = int(options.instanceHeartbeatInterval, 'instanceHeartbeatInterval', 5000, 1);
  const instanceTtl = int(options.instanceTtl, 'instanceTtl', Math.max(15_000, 3 * instanceHeartbeatInterval), 2);
  if (instanceTtl <= instanceHeartbeatInterval) throw invalid('options.instanceTtl must be greater than options.instanceHeartbeatInterval');
  const r = options.retention ?? {};
  if (typeof r !== 'object' || r === null) throw invalid('options.retention must be an object');
  const maxCount = int(r.maxCount, 'retention.maxCount', 1000, 1);
  const maxAgeMs = int(r.maxAgeMs, 'retention.maxAgeMs', 3_600_000, 1);
  const leastIdle = Math.max(sessionTtl, maxAgeMs);
  const streamIdleTtl = int(options.streamIdleTtl, 'streamIdleTtl', Math.max(DEFAULT_STREAM_IDLE_TTL, leastIdle), 0);
  if (streamIdleTtl !== 0 && streamIdleTtl < leastIdle) {
    throw invalid(`options.streamIdleTtl must be 0 or at least options.sessionTtl and options.retention.maxAgeMs (${leastIdle})`);
  }
  const retention: Retention = { maxCount, maxAgeMs, idleTtlMs: streamIdleTtl };
  const logger = options.logger ?? silentLogger;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger[level] !== 'function') throw invalid(`options.logger.${level} must be a function`);
  }
  let demo: ResolvedOptions['demo'];
  if (options.demo === true) demo = { dir: undefined };
  else if (options.demo === undefined || options.demo === false) demo = undefined;
  else if (typeof options.demo === 'object' && options.demo !== null && typeof options.demo.dir === 'string') demo = { dir: options.demo.dir };
  else throw invalid('options.demo must be a boolean or { dir: string }');
  if (options.faults !== undefined && typeof options.faults !== 'boolean') throw invalid('options.faults must be a boolean');
  if (options.state !== undefined) checkStateOption(options.state);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    backlog: int(options.backlog, 'backlog', 4096, 1),
    server: options.server,
    path: options.path,
    sessionTtl,
    sweepInterval: int(options.sweepInterval, 'sweepInterval', Math.min(sessionTtl, 5000), 1),
    instanceHeartbeatInterval,
    instanceTtl,
    handshakeTimeout: int(options.handshakeTimeout, 'handshakeTimeout', 10_000, 1),
    pingInterval: int(options.pingInterval, 'pingInterval', 30_000, 1),
    heartbeatInterval: int(options.heartbeatInterval, 'heartbeatInterval', 10_000, 1),
    heartbeatTimeout: int(options.heartbeatTimeout, 'heartbeatTimeout', 5000, 1),
    maxPayload: int(options.maxPayload, 'maxPayload', 1024 * 1024, 64),
    maxRoomsPerSession: int(options.maxRoomsPerSession, 'maxRoomsPerSession', 100, 1),
    maxMessagesPerSecond: int(options.maxMessagesPerSecond, 'maxMessagesPerSecond', 100, 0),
    maxMessageBurst: int(options.maxMessageBurst, 'maxMessageBurst', 2000, 1),
    maxSessionsPerUser: int(options.maxSessionsPerUser, 'maxSessionsPerUser', 100, 0),
    tombstoneTtl: int(options.tombstoneTtl, 'tombstoneTtl', 86_400_000, 0),
    streamIdleTtl,
    retention,
    outboxRetention: { ...retention, maxCount: int(options.maxOutbox, 'maxOutbox', retention.maxCount, 1) },
    maxBufferedBytes: int(options.maxBufferedBytes, 'maxBufferedBytes', 8 * 1024 * 1024, 1024),
    maxPendingHandshakes: int(options.maxPendingHandshakes, 'maxPendingHandshakes', 10_000, 1),
    maxFailedResumes: int(options.maxFailedResumes, 'maxFailedResumes', 10, 0),
    allowedOrigins: origins(options.allowedOrigins),
    authenticate: fn(options.authenticate, 'authenticate'),
    onMessage: fn(options.onMessage, 'onMessage'),
    sessionExpired: fn(options.sessionExpired, 'sessionExpired'),
    logger,
    faults: options.faults ?? false,
    demo,
  };
}
