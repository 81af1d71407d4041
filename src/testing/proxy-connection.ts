/**
 * One client connection through the proxy: the accepted client socket, the socket to the target,
 * and a `FaultPipe` for each direction.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { FaultPipe } from './fault-pipe.js';
import type { LatencyOptions, ThrottleOptions } from './fault-pipe.js';
import type { TimerSet } from './timer-set.js';
import { WsFrameTracker } from './ws-frame-tracker.js';
import { checkCutOptions, checkLatencyOptions, checkMidFrameOptions, checkStallOptions, checkThrottleOptions } from './validate.js';

/** Which way bytes travel: client → target (`toServer`), target → client (`toClient`). */
export type Direction = 'toServer' | 'toClient';

/** A direction or both; faults that take one default to `'both'`. */
export type DirectionOption = Direction | 'both';

/** How a cut ends the connection: `'rst'` resets both sockets, `'fin'` closes them gracefully. */
export type CutMode = 'rst' | 'fin';

/** Options of `cut()`. */
export interface CutOptions {
  /** `'rst'` (default): TCP reset on both sides, in-flight data lost. `'fin'`: orderly TCP close. */
  mode?: CutMode;
}

/** Options of `cutMidFrame()`. */
export interface CutMidFrameOptions {
  /** Which direction's next WebSocket frame is truncated; default `'toClient'`. */
  direction?: Direction;
  /** How the connection ends after the partial frame; default `'fin'` (the partial frame is sure to arrive). */
  mode?: CutMode;
}

/** Options of `stall()` and `resume()`. */
export interface StallOptions {
  /** Direction(s) to stall or resume; default `'both'`. */
  direction?: DirectionOption;
}

/** A snapshot of one connection, as listed by `FaultProxy.connections()`. */
export interface ConnectionInfo {
  /** Id unique within the proxy, counting from 1. */
  readonly id: number;
  /** `open` while bytes can flow, `closing` after a FIN cut, `closed` once both sockets are gone. */
  readonly state: ConnectionState;
  /** Bytes received from the client. */
  readonly bytesFromClient: number;
  /** Bytes forwarded to the target. */
  readonly bytesToServer: number;
  /** Bytes received from the target. */
  readonly bytesFromServer: number;
  /** Bytes forwarded to the client. */
  readonly bytesToClient: number;
  /** Milliseconds since the connection was accepted (proxy clock). */
  readonly ageMs: number;
  /** The client's port (its end of the loopback connection). */
  readonly clientPort: number | undefined;
  /** Whether forwarding is stalled in each direction. */
  readonly stalled: { readonly toServer: boolean; readonly toClient: boolean };
}

/** Connection lifecycle. */
export type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed';

/** A fault applied to a connection, as counted in stats and reported by the `fault` event. */
export type FaultKind = 'rst' | 'fin' | 'stall' | 'latency' | 'throttle' | 'midFrame' | 'refuse';

/** Why a connection ended. */
export type CloseReason = 'normal' | 'rst' | 'fin' | 'midFrame' | 'error' | 'proxyClosed';

/** @internal */
export interface ProxyConnectionOptions {
  id: number;
  client: Socket;
  target: { host: string; port: number };
  timers: TimerSet;
  random: () => number;
  highWaterMark: number;
  finTimeout: number;
  onClose: (conn: ProxyConnection, reason: CloseReason) => void;
  onFault: (conn: ProxyConnection, kind: FaultKind) => void;
}

/** Faults the proxy applies to every new connection, per direction. @internal */
export interface DirectionDefaults {
  latency: LatencyOptions | null;
  throttle: ThrottleOptions | null;
  stalled: boolean;
}

/**
 * Resets a socket if it still has a handle; never throws. A socket that has begun its FIN is
 * destroyed instead: Node's reset of a socket whose shutdown is still pending fails with EINVAL,
 * marks it destroyed and never emits 'close' (nor closes the handle).
 */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

const pick = (direction: DirectionOption | undefined): Direction[] =>
  direction === 'toServer' ? ['toServer'] : direction === 'toClient' ? ['toClient'] : ['toServer', 'toClient'];

/** A live connection through the proxy, with per-connection faults. */
export class ProxyConnection {
  /** Id unique within the proxy, counting from 1. */
  readonly id: number;
  /** When the connection was accepted (proxy clock, ms). */
  readonly openedAt: number;
  /** Resolves once both sockets are closed. */
  readonly closed: Promise<CloseReason>;

  private readonly opts: ProxyConnectionOptions;
  private readonly client: Socket;
  private readonly upstream: Socket;
  private readonly pipes: Record<Direction, FaultPipe>;
  private currentState: ConnectionState = 'connecting';
  private closeReason: CloseReason | undefined;
  private finTimer: number | undefined;
  private readonly socketsClosed = new Set<Socket>();
  private sweepPending = false;
  private midFrameWaiters: Array<(cut: boolean) => void> = [];
  private midFrameMode: CutMode = 'fin';
  private resolveClosed!: (reason: CloseReason) => void;

  /** @internal Connections are created by the proxy. */
  constructor(opts: ProxyConnectionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.openedAt = opts.timers.clock.now();
    this.client = opts.client;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.client.setNoDelay(true);
    this.upstream = connect({ host: opts.target.host, port: opts.target.port, allowHalfOpen: true, noDelay: true });
    const pipe = (source: Socket) =>
      new FaultPipe({
        source,
        timers: opts.timers,
        random: opts.random,
        tracker: new WsFrameTracker(source === this.client ? 'request' : 'response'),
        highWaterMark: opts.highWaterMark,
        onCutPoint: () => this.endMidFrame(),
      });
    this.pipes = { toServer: pipe(this.client), toClient: pipe(this.upstream) };
    this.wire(this.client, this.upstream, this.pipes.toServer, this.pipes.toClient);
    this.wire(this.upstream, this.client, this.pipes.toClient, this.pipes.toServer);
    this.upstream.once('connect', () => {
      if (this.currentState !== 'connecting') return;
      this.currentState = 'open';
      this.pipes.toServer.setDestination(this.upstream);
      this.pipes.toClient.setDestination(this.client);
    });
  }

  /** Current lifecycle state. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** A snapshot of the connection's counters. */
  info(): ConnectionInfo {
    return {
      id: this.id,
      state: this.currentState,
      bytesFromClient: this.pipes.toServer.bytesIn,
      bytesToServer: this.pipes.toServer.bytesOut,
      bytesFromServer: this.pipes.toClient.bytesIn,
      bytesToClient: this.pipes.toClient.bytesOut,
      ageMs: this.opts.timers.clock.now() - this.openedAt,
      clientPort: this.client.remotePort,
      stalled: { toServer: this.pipes.toServer.isStalled, toClient: this.pipes.toClient.isStalled },
    };
  }

  /** Cut the connection now: RST (default) or FIN on both sides. Bytes still held are dropped. */
  cut(options: CutOptions = {}): void {
    checkCutOptions(options, 'cut options');
    if (this.currentState === 'closed') return;
    this.opts.onFault(this, options.mode ?? 'rst');
    this.terminate(options.mode ?? 'rst', options.mode === 'fin' ? 'fin' : 'rst');
  }

  /** Stop forwarding (half-open): both sockets stay open, nothing flows until `resume()`. */
  stall(options: StallOptions = {}): void {
    checkStallOptions(options, 'stall options');
    this.opts.onFault(this, 'stall');
    for (const d of pick(options.direction)) this.pipes[d].stall();
  }

  /** Forward again everything held by `stall()`, in order. */
  resume(options: StallOptions = {}): void {
    checkStallOptions(options, 'resume options');
    for (const d of pick(options.direction)) this.pipes[d].resume();
  }

  /** Delay every chunk; `null` removes the delay for chunks received from now on. */
  latency(options: (LatencyOptions & { direction?: DirectionOption }) | null): void {
    checkLatencyOptions(options, 'latency options');
    if (options) this.opts.onFault(this, 'latency');
    for (const d of pick(options?.direction)) this.pipes[d].setLatency(options);
  }

  /** Limit bandwidth; `null` removes the limit. */
  throttle(options: (ThrottleOptions & { direction?: DirectionOption }) | null): void {
    checkThrottleOptions(options, 'throttle options');
    if (options) this.opts.onFault(this, 'throttle');
    for (const d of pick(options?.direction)) this.pipes[d].setThrottle(options);
  }

  /**
   * Forward only part of the next WebSocket frame in `direction`, then cut. Resolves `true` once
   * cut that way, `false` if the connection ended first or carries no WebSocket frames.
   */
  cutMidFrame(options: CutMidFrameOptions = {}): Promise<boolean> {
    checkMidFrameOptions(options, 'cutMidFrame options');
    if (this.currentState === 'closing' || this.currentState === 'closed') return Promise.resolve(false);
    this.midFrameMode = options.mode ?? 'fin';
    if (!this.pipes[options.direction ?? 'toClient'].armCutMidFrame()) return Promise.resolve(false);
    return new Promise((resolve) => this.midFrameWaiters.push(resolve));
  }

  /** Apply the proxy-wide faults to a new connection without counting them again. @internal */
  applyDefaults(defaults: Record<Direction, DirectionDefaults>): void {
    for (const d of ['toServer', 'toClient'] as const) {
      const { latency, throttle, stalled } = defaults[d];
      this.pipes[d].setLatency(latency);
      this.pipes[d].setThrottle(throttle);
      if (stalled) this.pipes[d].stall();
    }
  }

  /** Cancel pending `cutMidFrame()` calls that have not cut yet; they resolve `false`. @internal */
  disarmMidFrame(): void {
    if (this.currentState !== 'open') return;
    this.pipes.toServer.disarmCutMidFrame();
    this.pipes.toClient.disarmCutMidFrame();
    const waiters = this.midFrameWaiters;
    this.midFrameWaiters = [];
    for (const w of waiters) w(false);
  }

  /** Close both sockets at once (used by `FaultProxy.close()`). @internal */
  destroy(): void {
    this.closeReason ??= 'proxyClosed';
    this.pipes.toServer.discard();
    this.pipes.toClient.discard();
    this.client.destroy();
    this.upstream.destroy();
    this.sweepDestroyed();
  }

  private endMidFrame(): void {
    this.opts.onFault(this, 'midFrame');
    this.terminate(this.midFrameMode, 'midFrame');
    const waiters = this.midFrameWaiters;
    this.midFrameWaiters = [];
    for (const w of waiters) w(true);
  }

  private terminate(mode: CutMode, reason: CloseReason): void {
    if (this.currentState === 'closed') return;
    this.closeReason ??= reason;
    this.pipes.toServer.discard();
    this.pipes.toClient.discard();
    const wasClosing = this.currentState === 'closing';
    this.currentState = 'closing';
    if (mode === 'rst') {
      resetSocket(this.client);
      resetSocket(this.upstream);
      this.sweepDestroyed();
      return;
    }
    if (wasClosing) return;
    this.client.end();
    this.upstream.end();
    // A peer that never answers our FIN must not keep the sockets alive.
    this.finTimer = this.opts.timers.schedule(() => {
      this.client.destroy();
      this.upstream.destroy();
      this.sweepDestroyed();
    }, this.opts.finTimeout);
  }

  private wire(socket: Socket, other: Socket, from: FaultPipe, to: FaultPipe): void {
    socket.on('data', (buf: Buffer) => from.push(buf));
    socket.on('end', () => from.endSource());
    socket.on('error', () => {
      // Pass a reset on as a reset, the way the network would.
      this.closeReason ??= this.currentState === 'connecting' ? 'error' : 'rst';
      if (this.currentState !== 'closed') this.currentState = 'closing';
      this.pipes.toServer.discard();
      this.pipes.toClient.discard();
      resetSocket(other);
      this.sweepDestroyed();
    });
    socket.on('close', () => this.socketClosed(socket, from, to));
  }

  private socketClosed(socket: Socket, from: FaultPipe, to: FaultPipe): void {
    if (this.socketsClosed.has(socket)) return;
    this.socketsClosed.add(socket);
    from.endSource();
    to.discard();
    if (this.socketsClosed.size === 2) this.finish();
  }

  /**
   * Count as closed any socket that is destroyed but has not emitted 'close' by the time its
   * handle would have been closed. A destroyed socket's 'close' comes from the handle's close
   * callback, which libuv runs at the end of the loop turn it was closed in; two `setImmediate`
   * hops land after that, so a socket that emits 'close' is never cut short, and one that
   * never will (see `resetSocket`) cannot leave the connection `closing` for ever. Real timers,
   * not the proxy clock: an injected clock may be stopped, and close() clears the proxy's timers.
   */
  private sweepDestroyed(): void {
    if (this.sweepPending || this.currentState === 'closed') return;
    this.sweepPending = true;
    setImmediate(() =>
      setImmediate(() => {
        this.sweepPending = false;
        if (this.currentState === 'closed') return;
        if (this.client.destroyed) this.socketClosed(this.client, this.pipes.toServer, this.pipes.toClient);
        if (this.upstream.destroyed) this.socketClosed(this.upstream, this.pipes.toClient, this.pipes.toServer);
      }),
    );
  }

  private finish(): void {
    if (this.currentState === 'closed') return;
    this.opts.timers.cancel(this.finTimer);
    this.currentState = 'closed';
    const reason = this.closeReason ?? 'normal';
    const waiters = this.midFrameWaiters;
    this.midFrameWaiters = [];
    for (const w of waiters) w(false);
    this.resolveClosed(reason);
    this.opts.onClose(this, reason);
  }
}
