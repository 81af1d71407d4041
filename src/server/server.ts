/**
 * `createServer`: the reference server, on its own port or attached to an `http.Server`.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import { ResilientSocketError, roomStream, sessionStream, SUBPROTOCOL, ROOM_NAME } from '../protocol/index.js';
import type { Json } from '../protocol/index.js';
import type { ControlMessage, Store, StreamEntry } from './stores/store.js';
import { MemoryStore } from './stores/memory.js';
import type { Logger, ResolvedOptions, ServerOptions } from './options.js';
import type { RedisStoreOptions } from './stores/redis.js';
import { storeLogging } from './store-logging.js';
import { resolveOptions } from './options.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { Delivery } from './rooms/delivery.js';
import { Metrics } from './metrics.js';
import { SessionRegistry } from './session-registry.js';
import { noStateService } from './state-service.js';
import { serverEnvelope, stateOptionService } from './state-option.js';
import type { StateEngine } from './state/state-engine.js';
import type { VersionedValue } from './state/state-engine.js';
import type { StateService, StateServiceFactory } from './state-service.js';
import { acceptConnection } from './lifecycle.js';
import { ResumeGuard } from './resume-guard.js';
import { InstanceLiveness } from './instance-liveness.js';
import { httpHandler } from './http.js';
import type { HttpHandler } from './http.js';

/** Build the store named by the options; the Redis store is imported only when asked for. */
async function openStore(store: ServerOptions['store'], logger: Logger, streamIdleTtlMs: number): Promise<{ store: Store; owned: boolean }> {
  if (store === undefined) return { store: new MemoryStore({ streamIdleTtlMs }), owned: true };
  if (typeof store === 'object' && store !== null && 'redis' in store) {
    if (typeof store.redis !== 'string') throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.store.redis must be a Redis URL string');
    // A specifier the bundler does not follow: ioredis is loaded only by servers that use Redis
    // (the build emits the Redis store as its own file next to this one).
    const specifier = './stores/redis.js';
    const { RedisStore } = (await import(specifier)) as { RedisStore: new (options: RedisStoreOptions) => Store };
    return { store: new RedisStore({ url: store.redis, keyPrefix: store.keyPrefix, streamIdleTtlMs, ...storeLogging(logger) }), owned: true };
  }
  if (typeof store !== 'object' || store === null || typeof (store as Store).append !== 'function') {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.store must be a Store or { redis: url }');
  }
  return { store: store as Store, owned: false };
}

/** A running reference server. */
export class ReferenceServer {
  /** The store sessions and streams live in. */
  readonly store: Store;
  /** Random id of this instance (part of session owner strings). */
  readonly instanceId: string;
  /** The HTTP server (created by the server, or the one passed as `server`). */
  readonly httpServer: HttpServer;
  /** Serve the server's HTTP routes from your own request handler (attached mode); false when not one of them. */
  readonly handleHttp: HttpHandler;
  private readonly hub: Hub;
  private readonly wss: WebSocketServer;
  private readonly ownsStore: boolean;
  private readonly ownsHttp: boolean;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly detachListeners: () => void;
  private closing: Promise<void> | undefined;
  private readonly liveness: InstanceLiveness;
  private readonly stateEngine: (() => StateEngine) | undefined;

  /** @internal Use `createServer`. */
  constructor(init: {
    hub: Hub;
    wss: WebSocketServer;
    httpServer: HttpServer;
    ownsStore: boolean;
    ownsHttp: boolean;
    handleHttp: HttpHandler;
    detachListeners: () => void;
    stateEngine?: () => StateEngine;
  }) {
    this.stateEngine = init.stateEngine;
    this.hub = init.hub;
    this.wss = init.wss;
    this.httpServer = init.httpServer;
    this.ownsStore = init.ownsStore;
    this.ownsHttp = init.ownsHttp;
    this.handleHttp = init.handleHttp;
    this.detachListeners = init.detachListeners;
    this.store = init.hub.store;
    this.instanceId = init.hub.instanceId;
    this.startPinging();
    init.hub.sessions.start(init.hub.options.sweepInterval);
    this.liveness = new InstanceLiveness(init.hub);
    this.liveness.start();
  }

  /** Port the HTTP server listens on (0 while an attached server is not listening yet). */
  get port(): number {
    return (this.httpServer.address() as AddressInfo | null)?.port ?? 0;
  }

  /** `ws://host:port` of the server, with `path` if set. */
  get url(): string {
    const address = this.httpServer.address() as AddressInfo | null;
    const host = address ? (address.family === 'IPv6' ? `[${address.address}]` : address.address) : this.hub.options.host;
    return `ws://${host}:${this.port}${this.hub.options.path ?? ''}`;
  }

  /** Number of open connections on this instance. */
  get connectionCount(): number {
    return this.hub.connections.size;
  }

  /** The Prometheus registry of this server. */
  get metricsRegistry(): Registry {
    return this.hub.metrics.registry;
  }

  /** Publish a server-originated message to a room (stored, then delivered to every member on every instance). */
  async publish(room: string, data: Json): Promise<StreamEntry> {
    if (typeof room !== 'string' || !ROOM_NAME.test(room)) throw new ResilientSocketError('ERR_INVALID_OPTION', 'room must be a room name');
    return this.appendServerMessage(roomStream(room), data);
  }

  /** Send a direct, recoverable message to a session (attached or not). Throws `ERR_UNKNOWN_TARGET` for an unknown session. */
  async sendTo(sessionId: string, data: Json): Promise<StreamEntry> {
    if (!(await this.store.getSession(sessionId))) throw new ResilientSocketError('ERR_UNKNOWN_TARGET', 'no such session');
    return this.appendServerMessage(sessionStream(sessionId), data);
  }

  /**
   * Append an event to a state scope from the server (needs the `state` option): `scope` is
   * `room:<name>` or `session:<sessionId>`. The reducer receives `{ from: null, user: null, data:
   * event }`; every client following the scope, on every instance, gets the update. Resolves
   * with the new version and value; rejects with `ERR_STATE_REJECTED` when the reducer refuses.
   */
  async appendState(scope: string, event: Json): Promise<VersionedValue> {
    const engine = await this.stateScope(scope);
    const result = await engine.append(scope, serverEnvelope(event));
    if (result.status !== 'appended') throw new ResilientSocketError('ERR_INTERNAL', `state append returned ${result.status}`);
    return { version: result.version, value: result.value };
  }

  /** The current version and value of a state scope (`room:<name>` or `session:<sessionId>`; needs the `state` option). Values are shared: treat them as read-only. */
  async getState(scope: string): Promise<VersionedValue> {
    return (await this.stateScope(scope)).get(scope);
  }

  private async stateScope(scope: string): Promise<StateEngine> {
    if (this.stateEngine === undefined) throw new ResilientSocketError('ERR_NO_STATE', 'the server has no state: pass the state option to createServer');
    if (typeof scope !== 'string') throw new ResilientSocketError('ERR_INVALID_OPTION', 'scope must be a string');
    if (scope.startsWith('room:')) {
      if (!ROOM_NAME.test(scope.slice(5))) throw new ResilientSocketError('ERR_INVALID_OPTION', 'scope must be room:<room name> or session:<session id>');
    } else if (scope.startsWith('session:')) {
      if (!(await this.store.getSession(scope.slice(8)))) throw new ResilientSocketError('ERR_UNKNOWN_TARGET', 'no such session');
    } else {
      throw new ResilientSocketError('ERR_INVALID_OPTION', 'scope must be room:<room name> or session:<session id>');
    }
    return this.stateEngine();
  }

  /** Close the connection holding a session (on any instance); the session lives on. Default code 1000. */
  async disconnect(sessionId: string, code = 1000): Promise<void> {
    const local = this.hub.sessions.get(sessionId);
    if (local) local.close(code, 'disconnected by the server');
    else await this.store.publishControl({ kind: 'disconnect', sessionId, code });
  }

  /** Expire due sessions now instead of waiting for the sweeper (tests, maintenance). */
  sweepExpiredSessions(): Promise<number> {
    return this.hub.sessions.sweep();
  }

  /** Close every connection with 1001, stop timers, close the HTTP server and the store if it created them. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.hub.sessions.stop();
    await this.liveness.stop();
    this.detachListeners();
    const connections = [...this.hub.connections.values()];
    const closed = connections.map(
      (conn) =>
        new Promise<void>((resolve) => {
          conn.ws.once('close', () => resolve());
          conn.close(1001, 'server shutting down');
          // A peer that never answers the close frame must not hold the shutdown.
          setTimeout(() => {
            conn.ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // Let the cleanups queued on close (positions, detach) reach the store before it closes,
    // but never let a hung store call hold the shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(connections.map((conn) => conn.idle())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000))),
    ]);
    clearTimeout(timer);
    if (this.ownsHttp) {
      this.httpServer.closeAllConnections?.();
      await new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    }
    await this.hub.state.close();
    if (this.ownsStore) await this.store.close();
  }

  private async appendServerMessage(stream: string, data: Json): Promise<StreamEntry> {
    const retention = stream.startsWith('session:') ? this.hub.options.outboxRetention : this.hub.options.retention;
    const result = await this.store.append(stream, { id: flatId(), from: null, user: null, data: plainJson(data) }, retention);
    if (result.status !== 'appended') throw new ResilientSocketError('ERR_INTERNAL', `append returned ${result.status}`);
    return result.entry;
  }

  private startPinging(): void {
    const timer = setInterval(() => {
      for (const conn of this.hub.connections.values()) {
        if (!conn.alive) {
          this.hub.options.logger.info({ connection: conn.id, sessionId: conn.session?.id }, 'no pong: terminating connection');
          // The close frame is sent where the socket still takes it; the terminate ends it regardless.
          conn.sendError('ERR_HEARTBEAT_TIMEOUT', 'no answer to the last ping', { fatal: true });
          conn.close(4009, 'ERR_HEARTBEAT_TIMEOUT');
          setTimeout(() => conn.ws.terminate(), Math.min(1000, this.hub.options.pingInterval)).unref();
          continue;
        }
        conn.alive = false;
        try {
          conn.ws.ping();
        } catch {
          // Socket already closing: its close handler cleans up.
        }
      }
    }, this.hub.options.pingInterval);
    timer.unref();
    this.timers.push(timer);
  }
}

/** Find the connection a control message is about and act on it. */
function onControl(hub: Hub, message: ControlMessage): void {
  let conn: Connection | undefined;
  if (message.kind === 'takeover') {
    const [instance, connectionId] = message.owner.split('/');
    if (instance !== hub.instanceId || connectionId === undefined) return;
    conn = hub.connections.get(connectionId);
    if (conn?.session?.id === message.sessionId) conn.fail('ERR_SESSION_TAKEN_OVER', 'another connection resumed this session');
    return;
  }
  conn = hub.sessions.get(message.sessionId);
  if (!conn) return;
  if (message.kind === 'disconnect') conn.close(message.code, message.code === 4008 ? 'ERR_FAULT_INJECTED' : 'disconnected');
  else conn.close(1000, 'session ended');
}

/** Extension points of the server core: the versioned-state engine plugs in here. */
export interface InternalOptions {
  /** Build the state service (the state engine plugs in here). */
  stateService?: StateServiceFactory;
}

/** Start a reference server. Resolves once it listens (or is attached). */
export async function createServer(options: ServerOptions & InternalOptions = {}): Promise<ReferenceServer> {
  const opts: ResolvedOptions = resolveOptions(options);
  const { store, owned } = await openStore(options.store, opts.logger, opts.streamIdleTtl);
  const instanceId = randomBytes(6).toString('base64url');
  const connections = new Map<string, Connection>();
  const delivery = new Delivery(store);
  const stateOption = options.state === undefined ? undefined : stateOptionService(options.state, opts.logger);
  const factory = options.stateService ?? stateOption?.factory ?? noStateService;
  let state: StateService;
  try {
    state = factory({ store, advanceSeq: (...args) => store.advanceSeq(...args) });
  } catch (err) {
    if (owned) await store.close();
    throw err;
  }
  const sessions = new SessionRegistry(store, state, opts.sessionTtl, opts.sessionExpired, opts.logger, opts.tombstoneTtl);
  const metrics = new Metrics({
    connections: () => connections.size,
    sessions: () => sessions.size,
    bufferedBytes: () => {
      let sum = 0;
      for (const conn of connections.values()) sum += conn.ws.bufferedAmount;
      return sum;
    },
    streams: () => delivery.streamCount,
    pendingHandshakes: () => hub.pendingHandshakes,
  });
  const hub: Hub = { options: opts, store, instanceId, delivery, metrics, state, sessions, connections, resumeGuard: new ResumeGuard(opts.maxFailedResumes), pendingHandshakes: 0 };
  store.onControl((message) => onControl(hub, message));

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload,
    // Select the protocol's subprotocol when offered; clients that offer none still speak it.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  wss.on('connection', (ws, request: IncomingMessage) => acceptConnection(hub, ws, request));

  const ownsHttp = opts.server === undefined;
  const httpServer = opts.server ?? createHttpServer();
  const handleHttp = httpHandler(hub);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Only the path matters here; a request target that is not a valid URL must not throw
    // inside this listener (that would take the process down).
    const target = request.url ?? '/';
    const query = target.indexOf('?');
    const pathname = query === -1 ? target : target.slice(0, query);
    if (opts.path !== undefined && pathname !== opts.path) {
      // Attached to someone else's server: their other upgrade listeners may want it.
      if (ownsHttp) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handleHttp(req, res)
      .then((handled) => {
        if (!handled) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      })
      .catch(() => res.destroy());
  };
  httpServer.on('upgrade', onUpgrade);
  if (ownsHttp) httpServer.on('request', onRequest);
  const detachListeners = (): void => {
    httpServer.off('upgrade', onUpgrade);
    httpServer.off('request', onRequest);
  };

  if (ownsHttp) {
    try {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen({ port: opts.port, host: opts.host, backlog: opts.backlog }, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      detachListeners();
      await state.close();
      if (owned) await store.close();
      throw err;
    }
  }
  opts.logger.info({ instanceId, store: store.kind, port: (httpServer.address() as AddressInfo | null)?.port }, 'reference server started');
  return new ReferenceServer({ hub, wss, httpServer, ownsStore: owned, ownsHttp, handleHttp, detachListeners, ...(stateOption && factory === stateOption.factory ? { stateEngine: stateOption.engine } : {}) });
}

/**
 * A new message id (a UUID) as one flat string. `randomUUID` builds it by concatenation, and V8
 * keeps such a string as a tree of ~20 pieces (~600 bytes instead of ~56) for as long as the
 * stored entry lives in history.
 */
function flatId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

/**
 * `data` as it will reach clients: what JSON makes of it (a `Date` becomes its ISO string, as
 * the Redis store always did; the memory store would otherwise keep objects JSON cannot carry).
 * Data JSON cannot encode at all (a BigInt, a cycle, `undefined`) is refused here with a coded
 * error: stored, it would fail to encode for every member and every later replay.
 */
function plainJson(data: Json): Json {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (err) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', `data must be JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (text === undefined) throw new ResilientSocketError('ERR_INVALID_OPTION', 'data must be JSON (got undefined, a function or a symbol)');
  return JSON.parse(text) as Json;
}
