/**
 * Options of `ReconnectingWebSocket`, their defaults and their validation.
 */
import { ResilientSocketError } from '../protocol/errors.js';
import type { Json } from '../protocol/frames.js';
import type { StorageAdapter } from '../storage/storage-adapter.js';
import type { Jitter } from './backoff.js';
import type { LockManagerLike, SlotMemo } from './session-slot.js';
import type { Timers } from './timers.js';
import type { WebSocketConstructor } from './web-socket-like.js';

/** How the client talks to the server (see docs/protocol.md "Plain mode"). */
export type Mode = 'auto' | 'protocol' | 'plain';

/** A URL, or a function that returns one (called before every connection attempt). */
export type UrlProvider = string | (() => string | Promise<string>);

/** Event targets the client watches to retry at once (`online`, `visibilitychange`). */
export interface Environment {
  /** Receives `online` (a browser `window`). */
  window?: EventTargetLike;
  /** Receives `visibilitychange` and has `visibilityState` (a browser `document`). */
  document?: EventTargetLike & { readonly visibilityState?: string };
  /**
   * Web Locks manager that gives each live client its own slot of `sessionKey` (see
   * `sessionKey`). Default `navigator.locks` where it exists (browsers; not Node 20); `null`: no
   * slots, the key is used as given.
   */
  locks?: LockManagerLike | null;
  /** Where a tab remembers its slot across reloads. Default `sessionStorage` where it exists. */
  sessionStorage?: SlotMemo | null;
}

/** The subset of `EventTarget` the client uses. */
export interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Options of `ReconnectingWebSocket`. Every one is optional. */
export interface ReconnectingWebSocketOptions {
  /** `'auto'` (default): speak the protocol if the server selects it, else plain; `'protocol'`; `'plain'`. */
  mode?: Mode;
  /** Extra subprotocols to offer (after `resilient-socket.v1` in protocol/auto mode). Default none. */
  protocols?: string | string[];
  /** WebSocket constructor. Default: the global `WebSocket` in browsers (as found when the client is built), `ws` in Node (through `isomorphic-ws`). */
  WebSocket?: WebSocketConstructor;
  /** Timer functions. Default: the runtime's `setTimeout`/`clearTimeout`. */
  timers?: Timers;
  /** Uniform random numbers in [0, 1) for jitter and ids. Default `Math.random`. */
  random?: () => number;
  /** Clock in ms since epoch (RTT, heartbeats). Default `Date.now`. */
  now?: () => number;
  /**
   * Where the session, positions and offline queue persist. Default: IndexedDB in browsers,
   * memory in Node (use `FileStorage` from `resilient-socket/node` to survive a restart).
   */
  storage?: StorageAdapter;
  /** A storage call that has not settled after this long counts as a failure (ms, default 10000). */
  storageTimeout?: number;
  /**
   * Namespace of this client's data in `storage`, so two sockets do not share a session.
   * Default: derived from the URL (origin and path, query and hash ignored). Where Web Locks exist
   * (browsers) each live client claims the lowest free slot of the key (`key`, `key#1`, ...), so
   * two tabs keep two sessions and a reloaded tab finds its own; `environment.locks: null` turns
   * slots off.
   */
  sessionKey?: string;
  /** Credentials for the server's `authenticate` hook, or a function returning them per connection. */
  auth?: Json | (() => Json | Promise<Json>);
  /** Backoff: delay ceiling of the first retry (ms, default 1000). */
  initialReconnectDelay?: number;
  /** Backoff: maximum delay between attempts once an outage outlasts `fastReconnectWindow` (ms, default 30000). */
  maxReconnectDelay?: number;
  /**
   * Backoff: maximum delay between attempts during the first `fastReconnectWindow` ms of an outage
   * (ms, default 1000), so short outages — a restart, a deploy — end within about this long while
   * the retries of many clients stay spread evenly over it (with `jitter: 'full'`, retries after
   * the ceiling reaches it wait this long minus up to 10 %, keeping each client's random phase).
   * Raise it for fleets large enough that `clients / (fastReconnectMaxDelay / 100)` handshakes per
   * 100 ms would overload a server.
   */
  fastReconnectMaxDelay?: number;
  /** Backoff: how long an outage counts as short, from the first failed attempt (ms, default 30000; 0 turns the fast phase off). */
  fastReconnectWindow?: number;
  /** Backoff: growth factor per failed attempt (default 2). */
  reconnectFactor?: number;
  /** Backoff jitter: `'full'` (default), `'equal'` or `'none'`. */
  jitter?: Jitter;
  /** Consecutive failed attempts after which the client gives up with `ERR_MAX_RETRIES` (default Infinity). */
  maxRetries?: number;
  /** Time allowed for a connection to open and, in protocol mode, complete its handshake (ms, default 10000). */
  connectTimeout?: number;
  /** Heartbeat period (ms). Default: what the server announces, else 10000. */
  heartbeatInterval?: number;
  /** Silence after a heartbeat that marks the connection dead (ms). Default: what the server announces, else 5000. */
  heartbeatTimeout?: number;
  /** Longest delay before processed positions are acknowledged (ms, default 250). */
  ackInterval?: number;
  /** Acknowledge positions after this many processed messages at the latest (default 500; `ackInterval` bounds the delay at any rate). */
  ackEvery?: number;
  /** Max operations in the offline queue (default 1000). */
  maxQueueLength?: number;
  /** Max total encoded bytes in the offline queue (default 1048576 = 1 MiB). */
  maxQueueBytes?: number;
  /** Retry at once when the browser reports `online` (default true). */
  reconnectOnOnline?: boolean;
  /** Retry at once (or check the connection) when a hidden page becomes visible (default true). */
  reconnectOnVisible?: boolean;
  /** Where `online`/`visibilitychange` come from. Default: `globalThis` and `document` when they exist. */
  environment?: Environment;
  /** Do not connect on construction; call `reconnect()` to start (default false). */
  startClosed?: boolean;
  /** `binaryType` of the underlying sockets (plain mode; default `'blob'` in browsers, `'nodebuffer'` in ws). */
  binaryType?: 'blob' | 'arraybuffer';
}

/** Options with every default applied. @internal */
export interface ResolvedOptions {
  mode: Mode;
  protocols: string[];
  WebSocket: WebSocketConstructor | undefined;
  timers: Timers | undefined;
  random: () => number;
  now: () => number;
  storage: StorageAdapter | undefined;
  storageTimeout: number;
  sessionKey: string | undefined;
  auth: ReconnectingWebSocketOptions['auth'];
  initialReconnectDelay: number;
  maxReconnectDelay: number;
  fastReconnectMaxDelay: number;
  fastReconnectWindow: number;
  reconnectFactor: number;
  jitter: Jitter;
  maxRetries: number;
  connectTimeout: number;
  heartbeatInterval: number | undefined;
  heartbeatTimeout: number | undefined;
  ackInterval: number;
  ackEvery: number;
  maxQueueLength: number;
  maxQueueBytes: number;
  reconnectOnOnline: boolean;
  reconnectOnVisible: boolean;
  environment: Environment | undefined;
  startClosed: boolean;
  binaryType: 'blob' | 'arraybuffer' | undefined;
}

/** Documented defaults. */
export const DEFAULTS = {
  mode: 'auto',
  initialReconnectDelay: 1000,
  maxReconnectDelay: 30_000,
  fastReconnectMaxDelay: 1000,
  fastReconnectWindow: 30_000,
  reconnectFactor: 2,
  jitter: 'full',
  maxRetries: Infinity,
  connectTimeout: 10_000,
  heartbeatInterval: 10_000,
  heartbeatTimeout: 5000,
  ackInterval: 250,
  ackEvery: 500,
  maxQueueLength: 1000,
  maxQueueBytes: 1_048_576,
  storageTimeout: 10_000,
} as const;

function invalid(message: string): never {
  throw new ResilientSocketError('ERR_INVALID_OPTION', message);
}

/** What a numeric option must be (`o`: optional, positive; undefined unless given). */
type Check = 'ms' | 'positive' | 'factor' | 'count' | 'o';

const CHECKS: Record<Check, [ok: (v: number) => boolean, what: string]> = {
  ms: [(v) => Number.isFinite(v) && v >= 0, 'a non-negative finite number of ms'],
  positive: [(v) => Number.isFinite(v) && v > 0, 'a positive finite number'],
  o: [(v) => Number.isFinite(v) && v > 0, 'a positive finite number'],
  factor: [(v) => Number.isFinite(v) && v >= 1, 'a finite number >= 1'],
  count: [(v) => (Number.isInteger(v) || v === Infinity) && v >= 0, 'a non-negative integer or Infinity'],
};

/** The numeric options and their checks, in validation order (defaults: {@link DEFAULTS}). */
const NUMBERS =
  'storageTimeout:positive initialReconnectDelay:ms maxReconnectDelay:ms fastReconnectMaxDelay:ms fastReconnectWindow:ms ' +
  'reconnectFactor:factor maxRetries:count connectTimeout:positive heartbeatInterval:o heartbeatTimeout:o ackInterval:ms ' +
  'ackEvery:positive maxQueueLength:count maxQueueBytes:count';

/** Validate options and apply defaults. Throws `ERR_INVALID_OPTION` with the offending option named. @internal */
export function resolveOptions(options: ReconnectingWebSocketOptions | undefined, defaultMode: Mode = DEFAULTS.mode): ResolvedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) invalid('options must be an object');
  const o = (options ?? {}) as Record<string, unknown>;
  const r: Record<string, unknown> = { ...o };
  const mode = (r.mode = o.mode ?? defaultMode);
  if (mode !== 'auto' && mode !== 'protocol' && mode !== 'plain') invalid(`options.mode must be 'auto', 'protocol' or 'plain', got ${String(mode)}`);
  const jitter = (r.jitter = o.jitter ?? DEFAULTS.jitter);
  if (jitter !== 'full' && jitter !== 'equal' && jitter !== 'none') invalid(`options.jitter must be 'full', 'equal' or 'none', got ${String(jitter)}`);
  const protocols = (r.protocols = o.protocols === undefined ? [] : typeof o.protocols === 'string' ? [o.protocols] : o.protocols);
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string' && p.length > 0)) invalid('options.protocols must be non-empty strings');
  for (const fn of ['WebSocket', 'random', 'now']) {
    if (o[fn] !== undefined && typeof o[fn] !== 'function') invalid(`options.${fn} must be a function`);
  }
  r.random ??= Math.random;
  r.now ??= Date.now;
  const has = (v: unknown, methods: string[]) => v === undefined || methods.every((m) => typeof (v as Record<string, unknown> | null)?.[m] === 'function');
  if (!has(o.timers, ['setTimeout', 'clearTimeout'])) invalid('options.timers needs setTimeout, clearTimeout');
  if (!has(o.storage, ['get', 'set', 'delete'])) invalid('options.storage needs get, set, delete');
  if (o.sessionKey !== undefined && (typeof o.sessionKey !== 'string' || o.sessionKey.length === 0)) invalid('options.sessionKey must be a non-empty string');
  if (o.binaryType !== undefined && o.binaryType !== 'blob' && o.binaryType !== 'arraybuffer') invalid("options.binaryType must be 'blob' or 'arraybuffer'");
  for (const spec of NUMBERS.split(' ')) {
    const [name, check] = spec.split(':') as [keyof typeof DEFAULTS, Check];
    const v = o[name];
    if (v === undefined) r[name] = check === 'o' ? undefined : DEFAULTS[name];
    else if (typeof v !== 'number' || !CHECKS[check][0](v)) invalid(`options.${name} must be ${CHECKS[check][1]}, got ${String(v)}`);
  }
  for (const name of ['reconnectOnOnline', 'reconnectOnVisible', 'startClosed']) {
    const v = (r[name] = o[name] === undefined ? name !== 'startClosed' : o[name]);
    if (typeof v !== 'boolean') invalid(`options.${name} must be a boolean, got ${typeof v}`);
  }
  const resolved = r as unknown as ResolvedOptions;
  if (resolved.maxReconnectDelay < resolved.initialReconnectDelay) {
    invalid('options.maxReconnectDelay must be >= initialReconnectDelay');
  }
  return resolved;
}
