/**
 * `FaultProxy`: a loopback TCP proxy to put between a WebSocket client and a server in tests, and
 * break the connection between them on purpose: cut it (RST or FIN), stall it (half-open), slow
 * it down, cut it in the middle of a WebSocket frame, refuse new connections, or do all of that
 * at random (`chaos`). Bytes that are forwarded arrive in order, once; a cut drops what was
 * still in flight, as a real network would.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { EventEmitter } from '../client/event-emitter.js';
import { runChaos } from './chaos.js';
import type { ChaosOptions, ChaosRun } from './chaos.js';
import type { LatencyOptions, ThrottleOptions } from './fault-pipe.js';
import { ProxyConnection } from './proxy-connection.js';
import type {
  CloseReason,
  ConnectionInfo,
  CutMidFrameOptions,
  CutOptions,
  Direction,
  DirectionDefaults,
  DirectionOption,
  FaultKind,
  StallOptions,
} from './proxy-connection.js';
import { TimerSet, systemClock } from './timer-set.js';
import type { ProxyClock } from './timer-set.js';
import {
  checkCutOptions,
  checkFunction,
  checkHost,
  checkLatencyOptions,
  checkMidFrameOptions,
  checkNonNegative,
  checkPort,
  checkPositiveInt,
  checkStallOptions,
  checkThrottleOptions,
  invalid,
} from './validate.js';

/** Options of `createFaultProxy`. */
export interface FaultProxyOptions {
  /** Where to forward connections. Must be a loopback address unless `allowNonLoopback`. */
  target: { host: string; port: number };
  /** Where the proxy listens; default `{ host: '127.0.0.1', port: 0 }` (an ephemeral port). */
  listen?: { host?: string; port?: number };
  /** Accept non-loopback `target` / `listen` hosts; default false (fault traffic stays on this machine). */
  allowNonLoopback?: boolean;
  /** Clock and timers for latency, throttling, FIN timeouts and chaos; default the global ones. */
  clock?: ProxyClock;
  /** Random source in [0, 1) for latency jitter; default `Math.random`. */
  random?: () => number;
  /** Bytes held per direction before the proxy stops reading from the sender, default 1048576 (1 MiB). */
  highWaterMark?: number;
  /** After a FIN cut, ms to wait for the peers to close before destroying the sockets; default 1000. */
  finTimeout?: number;
}

/** Counters of a proxy since it started. */
export interface FaultProxyStats {
  /** Connections accepted and forwarded. */
  readonly accepted: number;
  /** Connections refused at accept while `refuse(true)` was on. */
  readonly refused: number;
  /** Connections currently open. */
  readonly active: number;
  /** Bytes forwarded client → target, all connections. */
  readonly bytesToServer: number;
  /** Bytes forwarded target → client, all connections. */
  readonly bytesToClient: number;
  /** Faults applied, per kind (a proxy-wide fault counts once per connection it hit). */
  readonly faults: Readonly<Record<FaultKind, number>>;
}

/** A fault applied, as reported by the `fault` event. */
export interface FaultEvent {
  readonly kind: FaultKind;
  /** The connection it hit, or null for `refuse`. */
  readonly connectionId: number | null;
}

/** Events of `FaultProxy`. */
export type FaultProxyEvents = {
  /** A connection was accepted (its connection to the target is being opened). */
  connection: (connection: ProxyConnection) => void;
  /** A connection's sockets are both closed. */
  connectionClose: (connection: ProxyConnection, reason: CloseReason) => void;
  /** A fault was applied. */
  fault: (event: FaultEvent) => void;
};

const ZERO_FAULTS = (): Record<FaultKind, number> => ({ rst: 0, fin: 0, stall: 0, latency: 0, throttle: 0, midFrame: 0, refuse: 0 });

const directions = (d: DirectionOption | undefined): Direction[] =>
  d === 'toServer' ? ['toServer'] : d === 'toClient' ? ['toClient'] : ['toServer', 'toClient'];

/** A fault-injecting loopback TCP proxy. Create it with `createFaultProxy`. */
export class FaultProxy extends EventEmitter<FaultProxyEvents> {
  private readonly server: Server;
  private target: { host: string; port: number };
  private readonly allowNonLoopback: boolean;
  private readonly timers: TimerSet;
  private readonly random: () => number;
  private readonly highWaterMark: number;
  private readonly finTimeout: number;
  private readonly live = new Map<number, ProxyConnection>();
  private readonly chaosRuns = new Set<ChaosRun>();
  private readonly defaults: Record<Direction, DirectionDefaults> = {
    toServer: { latency: null, throttle: null, stalled: false },
    toClient: { latency: null, throttle: null, stalled: false },
  };
  private nextId = 1;
  private refusing = false;
  private closing: Promise<void> | undefined;
  private counters = { accepted: 0, refused: 0, bytesToServer: 0, bytesToClient: 0, faults: ZERO_FAULTS() };

  /** @internal Use `createFaultProxy`. */
  constructor(
    server: Server,
    options: Required<Pick<FaultProxyOptions, 'target' | 'highWaterMark' | 'finTimeout' | 'random' | 'allowNonLoopback'>> & { clock: ProxyClock },
  ) {
    super();
    this.server = server;
    this.target = { ...options.target };
    this.allowNonLoopback = options.allowNonLoopback;
    this.timers = new TimerSet(options.clock);
    this.random = options.random;
    this.highWaterMark = options.highWaterMark;
    this.finTimeout = options.finTimeout;
    server.on('connection', (socket) => this.accept(socket));
  }

  /** The port the proxy listens on. */
  get port(): number {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /** The host the proxy listens on. */
  get host(): string {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.address : '';
  }

  /** Where new connections are forwarded. */
  get targetAddress(): { readonly host: string; readonly port: number } {
    return { ...this.target };
  }

  /**
   * Forward new connections to another target from now on (e.g. a server restarted on another
   * port, or a second instance); open connections keep theirs. Same checks as `options.target`.
   */
  setTarget(target: { host: string; port: number }): void {
    if (typeof target !== 'object' || target === null) invalid('setTarget(target) takes an object { host, port }');
    this.target = {
      host: checkHost(target.host, 'target.host', this.allowNonLoopback),
      port: checkPort(target.port, 'target.port', false),
    };
  }

  /** A URL pointing at the proxy, e.g. `proxy.url('ws', '/chat')` → `ws://127.0.0.1:41234/chat`. */
  url(scheme = 'ws', path = '/'): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${scheme}://${host}:${this.port}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Snapshots of the open connections, oldest first. */
  connections(): ConnectionInfo[] {
    return [...this.live.values()].map((c) => c.info());
  }

  /** The open connection with this id, to fault it alone. */
  connection(id: number): ProxyConnection | undefined {
    return this.live.get(id);
  }

  /** The open connections themselves, oldest first. */
  openConnections(): ProxyConnection[] {
    return [...this.live.values()];
  }

  /** Counters since the proxy started. */
  get stats(): FaultProxyStats {
    let toServer = this.counters.bytesToServer;
    let toClient = this.counters.bytesToClient;
    for (const c of this.live.values()) {
      const info = c.info();
      toServer += info.bytesToServer;
      toClient += info.bytesToClient;
    }
    return {
      accepted: this.counters.accepted,
      refused: this.counters.refused,
      active: this.live.size,
      bytesToServer: toServer,
      bytesToClient: toClient,
      faults: { ...this.counters.faults },
    };
  }

  /** Timers pending (latency, throttle, FIN timeouts, chaos); 0 after `close()`. @internal */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Cut every open connection: RST (default) or FIN. */
  cut(options: CutOptions = {}): void {
    checkCutOptions(options, 'cut options');
    for (const c of this.openConnections()) c.cut(options);
  }

  /** Stall every open connection and every new one (half-open) until `resume()`. */
  stall(options: StallOptions = {}): void {
    checkStallOptions(options, 'stall options');
    for (const d of directions(options.direction)) this.defaults[d].stalled = true;
    for (const c of this.openConnections()) c.stall(options);
  }

  /** End `stall()`, for open and new connections; held bytes are forwarded in order. */
  resume(options: StallOptions = {}): void {
    checkStallOptions(options, 'resume options');
    for (const d of directions(options.direction)) this.defaults[d].stalled = false;
    for (const c of this.openConnections()) c.resume(options);
  }

  /** Add latency (and jitter) to open and new connections; `null` removes it. */
  latency(options: (LatencyOptions & { direction?: DirectionOption }) | null): void {
    checkLatencyOptions(options, 'latency options');
    for (const d of directions(options?.direction)) this.defaults[d].latency = options ? { ms: options.ms, jitter: options.jitter ?? 0 } : null;
    for (const c of this.openConnections()) c.latency(options);
  }

  /** Limit the bandwidth of open and new connections (each direction of each connection); `null` removes it. */
  throttle(options: (ThrottleOptions & { direction?: DirectionOption }) | null): void {
    checkThrottleOptions(options, 'throttle options');
    for (const d of directions(options?.direction)) this.defaults[d].throttle = options ? { bytesPerSecond: options.bytesPerSecond } : null;
    for (const c of this.openConnections()) c.throttle(options);
  }

  /**
   * Arm a mid-frame cut on every open connection (see `ProxyConnection.cutMidFrame`). Resolves
   * with how many were cut mid-frame once each has been cut or has closed.
   */
  async cutMidFrame(options: CutMidFrameOptions = {}): Promise<number> {
    checkMidFrameOptions(options, 'cutMidFrame options');
    const results = await Promise.all(this.openConnections().map((c) => c.cutMidFrame(options)));
    return results.filter(Boolean).length;
  }

  /** Refuse new connections (reset at accept) while `on` (default true). Open ones are untouched. */
  refuse(on = true): void {
    if (typeof on !== 'boolean') invalid('refuse(on) takes a boolean');
    if (on) this.countFault('refuse', null);
    this.refusing = on;
  }

  /** Remove every standing fault: resume stalls, drop latency and throttling, accept connections. */
  reset(): void {
    this.refusing = false;
    this.resume();
    this.latency(null);
    this.throttle(null);
    for (const c of this.openConnections()) c.disarmMidFrame();
  }

  /** Inject random faults until `maxFaults`, `durationMs`, `stop()` or `close()`. */
  chaos(options: ChaosOptions): ChaosRun {
    if (this.closing) invalid('chaos() after close()');
    const run = runChaos(
      {
        timers: this.timers,
        connections: () => this.openConnections(),
        refuse: (on) => this.refuse(on),
      },
      options,
    );
    this.chaosRuns.add(run);
    void run.done.then(() => this.chaosRuns.delete(run));
    return run;
  }

  /** Stop everything: chaos runs, the listener, every connection (destroyed) and every timer. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const run of this.chaosRuns) run.stop();
    this.refusing = true;
    const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const open = this.openConnections();
    for (const c of open) c.destroy();
    await Promise.all(open.map((c) => c.closed));
    await listening;
    this.timers.close();
  }

  private accept(socket: Socket): void {
    if (this.refusing) {
      this.counters.refused++;
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    this.counters.accepted++;
    const conn = new ProxyConnection({
      id: this.nextId++,
      client: socket,
      target: this.target,
      timers: this.timers,
      random: this.random,
      highWaterMark: this.highWaterMark,
      finTimeout: this.finTimeout,
      onClose: (c, reason) => {
        this.live.delete(c.id);
        const info = c.info();
        this.counters.bytesToServer += info.bytesToServer;
        this.counters.bytesToClient += info.bytesToClient;
        this.emit('connectionClose', c, reason);
      },
      onFault: (c, kind) => this.countFault(kind, c.id),
    });
    this.live.set(conn.id, conn);
    conn.applyDefaults(this.defaults);
    this.emit('connection', conn);
  }

  private countFault(kind: FaultKind, connectionId: number | null): void {
    this.counters.faults[kind]++;
    this.emit('fault', { kind, connectionId });
  }
}

/**
 * Start a fault proxy in front of `options.target` and resolve once it listens.
 * Throws `ERR_INVALID_OPTION` for bad options, including a non-loopback host.
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  if (typeof options !== 'object' || options === null) invalid('createFaultProxy(options) takes an object');
  const allowNonLoopback = options.allowNonLoopback ?? false;
  if (typeof allowNonLoopback !== 'boolean') invalid('options.allowNonLoopback must be a boolean');
  if (typeof options.target !== 'object' || options.target === null) invalid('options.target must be an object { host, port }');
  const target = {
    host: checkHost(options.target.host, 'options.target.host', allowNonLoopback),
    port: checkPort(options.target.port, 'options.target.port', false),
  };
  const listen = options.listen ?? {};
  if (typeof listen !== 'object' || listen === null) invalid('options.listen must be an object { host?, port? }');
  const host = checkHost(listen.host ?? '127.0.0.1', 'options.listen.host', allowNonLoopback);
  const port = checkPort(listen.port ?? 0, 'options.listen.port', true);
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'object' || clock === null) invalid('options.clock must be an object { now, setTimeout, clearTimeout }');
  checkFunction(clock.now, 'options.clock.now');
  checkFunction(clock.setTimeout, 'options.clock.setTimeout');
  checkFunction(clock.clearTimeout, 'options.clock.clearTimeout');
  const random = checkFunction<() => number>(options.random ?? Math.random, 'options.random');
  const highWaterMark = checkPositiveInt(options.highWaterMark ?? 1024 * 1024, 'options.highWaterMark');
  const finTimeout = checkNonNegative(options.finTimeout ?? 1000, 'options.finTimeout');

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
  const proxy = new FaultProxy(server, { target, highWaterMark, finTimeout, random, clock, allowNonLoopback });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return proxy;
}
