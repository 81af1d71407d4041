/**
 * The body of `ReconnectingWebSocket`: the WebSocket-compatible surface, the status machine,
 * retries and plain mode. The protocol half (session, state, heartbeat, frame decoding) comes in
 * as a `ProtocolKit`, so that the plain-only `resilient-socket/lite` build leaves it out.
 * See docs/client.md.
 */
import { EventEmitter } from './event-emitter.js';
import { encodeFrame, utf8Length } from '../protocol/encoding.js';
import type { Decoded } from '../protocol/codec.js';
import { CLOSE_CODES, ERRORS, ResilientSocketError } from '../protocol/errors.js';
import type { ErrorCode } from '../protocol/errors.js';
import { SUBPROTOCOL } from '../protocol/frames.js';
import type { ClientFrame, Json, MessageFrame, ServerFrame } from '../protocol/frames.js';
import type { ClientSession, SendOptions, SendResult, StateEventResult } from './client-session.js';
import type { StateBinding, StateValue } from './state-binding.js';
import type { StateChange } from './state-replica.js';
import { CompatEvents } from './compat-events.js';
import { Connection } from './connection.js';
import type { ConnectionHandlers } from './connection.js';
import type { CompatListener, CompatEventType } from './compat-events.js';
import type { CloseInfo, ConnectionMode, ConnectionStatus, OpenInfo, ReceivedMessage, ReconnectingWebSocketEvents } from './events.js';
import type { Heartbeat, HeartbeatOptions } from './heartbeat.js';
import { DEFAULTS, resolveOptions } from './options.js';
import type { ReconnectingWebSocketOptions, ResolvedOptions, UrlProvider } from './options.js';
import { PlainQueue } from './plain-queue.js';
import { queueFullInfo } from './queue-full.js';
import { RetrySchedule } from './retry-schedule.js';
import type { SessionSlot, claimSessionSlot } from './session-slot.js';
import { byteLength, deriveSessionKey, handled, isBinary, rethrowLater } from './socket-utils.js';
import type { ClientStats } from './stats.js';
import { watchEnvironment } from './watch-environment.js';
import type { PlainData } from './plain-queue.js';
import { defaultTimers } from './timers.js';
import { defaultWebSocket } from './default-websocket.js';
import type { Timers } from './timers.js';
import type { WebSocketConstructor } from './web-socket-like.js';

/**
 * The registry's error for a close code after which the client stops (`action: 'stop'` with that
 * `closeCode`: 4001, 4002, 4007), if any. Read from the registry, not a second table.
 */
const stopErrorOf = (closeCode: number): ErrorCode | undefined =>
  (Object.keys(ERRORS) as ErrorCode[]).find((c) => ERRORS[c].action === 'stop' && ERRORS[c].closeCode === closeCode);

/** Frames a protocol server may send first. */
const HANDSHAKE_ANSWERS: ReadonlySet<string> = new Set(['NEW_SESSION', 'STATE_RECOVERED', 'ERROR']);

/** How long `close()` waits for the socket's close handshake before giving up on it (ms). */
const CLOSING_TIMEOUT = 2000;

/**
 * The protocol half of the client. `ReconnectingWebSocket` passes the real one; the plain-only
 * client passes none and never leaves plain mode, so a bundler drops these modules. @internal
 */
export interface ProtocolKit {
  /** A session on the given storage key (storage: the `storage` option, else the default). */
  session(host: ConstructorParameters<typeof ClientSession>[0], key: string, options: ResolvedOptions): ClientSession;
  /** The synced-state layer over `session`. */
  state(session: ClientSession, emit: (change: StateChange) => void): StateBinding;
  /** A heartbeat for one open protocol connection. */
  heartbeat(options: HeartbeatOptions): Heartbeat;
  /** Decode and validate a frame from the server. */
  decode(text: string): Decoded<ServerFrame>;
  /** Claim this client's slot of the session key (Web Locks; plain mode has no session to claim). */
  slot: typeof claimSessionSlot;
}

/**
 * Everything of `ReconnectingWebSocket` but the protocol modules, which come in as a
 * {@link ProtocolKit}. Not for direct use: construct `ReconnectingWebSocket` (from
 * `resilient-socket`, or the plain-only one from `resilient-socket/lite`).
 */
export class ReconnectingSocketBase extends EventEmitter<ReconnectingWebSocketEvents> {
  /** `readyState`: connecting or reconnecting. */
  static readonly CONNECTING = 0;
  /** `readyState`: open. */
  static readonly OPEN = 1;
  /** `readyState`: closing. */
  static readonly CLOSING = 2;
  /** `readyState`: closed. */
  static readonly CLOSED = 3;
  /** `readyState`: connecting or reconnecting. */
  readonly CONNECTING = 0;
  /** `readyState`: open. */
  readonly OPEN = 1;
  /** `readyState`: closing. */
  readonly CLOSING = 2;
  /** `readyState`: closed. */
  readonly CLOSED = 3;

  /** WebSocket-style handler of every open. */
  onopen: CompatListener | null = null;
  /** WebSocket-style handler of every application message (`event.data` is the payload). */
  onmessage: CompatListener | null = null;
  /** WebSocket-style handler of every underlying close. */
  onclose: CompatListener | null = null;
  /** WebSocket-style handler of errors (`event.error` is the ResilientSocketError). */
  onerror: CompatListener | null = null;

  readonly #o: ResolvedOptions;
  readonly #kit: ProtocolKit | undefined;
  readonly #urlProvider: UrlProvider;
  readonly #timers: Timers;
  readonly #WebSocket: WebSocketConstructor;
  readonly #compat = new CompatEvents(this);
  readonly #plain: PlainQueue;
  readonly #ready: Promise<void>;
  /** `#ready` has resolved. */
  #loaded = false;
  /** Calls waiting for the stored session to load; see `#inOrder`. */
  #waiting = 0;
  /** A `message` listener was ever added with addEventListener. */
  #compatMessages = false;
  #session: ClientSession | undefined;
  /** The slot of the session key this client holds (see session-slot.ts); set with `#session`. */
  #slot: SessionSlot | undefined;
  #state: StateBinding | undefined;
  #status: ConnectionStatus = 'connecting';
  #conn: Connection | undefined;
  #mode: ConnectionMode | undefined;
  #plainDetected = false;
  #handshaken = false;
  #everOpened = false;
  /** No reconnecting by itself: `close()`, `startClosed`, a fatal close code or `maxRetries`. */
  #closedForGood = false;
  /** `close()` was called: operations are refused until `reconnect()`. */
  #closedByApp = false;
  readonly #retry: RetrySchedule;
  #attemptId = 0;
  #closingTimer: unknown;
  #heartbeat: Heartbeat | undefined;
  #lastServerError: ResilientSocketError | undefined;
  #url = '';
  #binaryType: 'blob' | 'arraybuffer' | undefined;
  #recovered = false;
  #detachEnvironment: (() => void) | undefined;
  readonly #stats = { reconnects: 0, rtt: null as number | null, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };

  /**
   * @param url the server URL, or a function returning it (called before every attempt, so it can
   *   carry fresh credentials)
   * @param options see {@link ReconnectingWebSocketOptions}; every option is optional
   * @param kit the protocol half; without it the client must be in `mode: 'plain'`
   * @internal subclasses are the public constructors
   */
  constructor(url: UrlProvider, options: ReconnectingWebSocketOptions | undefined, kit: ProtocolKit | undefined) {
    super();
    if (typeof url !== 'string' && typeof url !== 'function') {
      throw new ResilientSocketError('ERR_INVALID_OPTION', 'url must be a string or function');
    }
    this.#o = resolveOptions(options, kit ? undefined : 'plain');
    if (!kit && this.#o.mode !== 'plain') {
      throw new ResilientSocketError('ERR_INVALID_OPTION', `options.mode must be 'plain' in resilient-socket/lite, got ${this.#o.mode}`);
    }
    this.#kit = kit;
    this.#urlProvider = url;
    if (typeof url === 'string') this.#url = url;
    this.#timers = this.#o.timers ?? defaultTimers();
    this.#WebSocket = this.#o.WebSocket ?? defaultWebSocket();
    this.#binaryType = this.#o.binaryType;
    this.#plain = new PlainQueue({ maxLength: this.#o.maxQueueLength, maxBytes: this.#o.maxQueueBytes });
    this.#retry = new RetrySchedule({ ...this.#o, timers: this.#timers }, () => void this.#connect());
    if (this.#o.startClosed) {
      this.#status = 'closed';
      this.#closedForGood = true;
    }
    this.#ready = this.#init();
    void this.#ready.then(() => {
      this.#loaded = true;
      if (!this.#closedForGood) void this.#connect();
    });
  }

  // ------------------------------------------------------------------ WebSocket-compatible surface

  /** The URL of the current (or last) connection. */
  get url(): string {
    return this.#url;
  }

  /** `CONNECTING` (0) while connecting or reconnecting, `OPEN` (1), `CLOSING` (2), `CLOSED` (3). */
  get readyState(): number {
    switch (this.#status) {
      case 'open':
        return 1;
      case 'closing':
        return 2;
      case 'closed':
        return 3;
      default:
        return 0;
    }
  }

  /** Subprotocol the server selected on the current connection (`''` when none). */
  get protocol(): string {
    return this.#conn?.socket.protocol ?? '';
  }

  /** Extensions the server selected on the current connection. */
  get extensions(): string {
    return this.#conn?.socket.extensions ?? '';
  }

  /** Bytes waiting: in the socket's buffer plus in the offline queue. */
  get bufferedAmount(): number {
    return (this.#conn?.socket.bufferedAmount ?? 0) + this.#queueBytes();
  }

  /** Binary type of received binary frames (plain mode). */
  get binaryType(): 'blob' | 'arraybuffer' {
    return this.#binaryType ?? ((this.#conn?.socket.binaryType as 'blob' | 'arraybuffer' | undefined) ?? 'blob');
  }

  set binaryType(value: 'blob' | 'arraybuffer') {
    this.#binaryType = value;
    if (this.#conn) this.#conn.socket.binaryType = value;
  }

  /** Add a WebSocket-style listener (`open`, `message`, `close`, `error`). */
  addEventListener(type: CompatEventType, listener: CompatListener | { handleEvent: CompatListener }): void {
    if (type === 'message') this.#compatMessages = true;
    this.#compat.add(type, listener);
  }

  /** Remove a WebSocket-style listener. */
  removeEventListener(type: CompatEventType, listener: CompatListener | { handleEvent: CompatListener }): void {
    this.#compat.remove(type, listener);
  }

  // ------------------------------------------------------------------ status and info

  /** Connection status (see {@link ConnectionStatus}); every change is reported by the `status` event. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The dialect of the current/last connection, once known. */
  get mode(): ConnectionMode | undefined {
    return this.#mode;
  }

  /** Whether the last (re)connection resumed the previous session with nothing missing. */
  get recovered(): boolean {
    return this.#recovered;
  }

  /** Current session id (protocol mode). */
  get sessionId(): string | undefined {
    return this.#session?.sessionId;
  }

  /**
   * The storage namespace this client holds: `sessionKey` (given or derived from the URL), with
   * `#<n>` when other live clients (tabs) hold the lower slots. Undefined before the stored session
   * loaded, and in plain mode.
   */
  get sessionKey(): string | undefined {
    return this.#slot?.key;
  }

  /** Consecutive failed attempts so far (0 once open). */
  get attempt(): number {
    return this.#retry.attempt;
  }

  /** Delay (ms) before the scheduled retry, while one is scheduled. */
  get nextRetryDelay(): number | undefined {
    return this.#retry.nextDelay;
  }

  /** Counters: reconnects, RTT, queue length and bytes, frames/bytes/messages in and out. */
  get stats(): ClientStats {
    return { ...this.#stats, queueLength: this.#queueLength(), queueBytes: this.#queueBytes() };
  }

  /** Positions processed per stream (protocol mode). */
  get positions(): Readonly<Record<string, { epoch: string; offset: number }>> {
    return this.#session?.positions() ?? {};
  }

  // ------------------------------------------------------------------ sending

  /**
   * Send `data`. Protocol mode: `data` is any JSON value; the promise resolves with the message id
   * when the server acknowledges it, or rejects with the server's error code. Plain mode: strings
   * and binary data are sent as they are (other values as JSON) and the promise resolves when
   * the frame is handed to the socket. Queued while disconnected, up to `maxQueueLength` /
   * `maxQueueBytes` (then rejected with `ERR_QUEUE_FULL` and a `queuefull` event).
   * The returned promise is pre-marked as handled: ignoring it never causes an unhandled
   * rejection; failures are also reported by events.
   */
  send(data: unknown, options: SendOptions = {}): Promise<SendResult | undefined> {
    return handled(this.#send(data, options));
  }

  // Not async: a message is one promise (the session's), not three (async function, await, then).
  #send(data: unknown, options: SendOptions): Promise<SendResult | undefined> {
    if (this.#closedByApp) return Promise.reject(new ResilientSocketError('ERR_CLOSED', 'closed; call reconnect()'));
    if (this.#isPlain()) return this.#sendPlain(data as PlainData);
    if (isBinary(data)) {
      return Promise.reject(new ResilientSocketError('ERR_BINARY_NOT_SUPPORTED', "binary data needs mode 'plain'"));
    }
    try {
      // A promise either way: the session's at once, or one chained behind the waiting calls.
      return this.#inOrder<Promise<SendResult | undefined>>(() => {
        if (this.#isPlain()) return this.#sendPlain(data as PlainData);
        const session = this.#session!;
        const op: Omit<MessageFrame, 'seq'> = { type: 'MESSAGE', id: options.id ?? session.nextMessageId(), data: data as Json };
        if (options.room !== undefined) op.room = options.room;
        if (options.to !== undefined) op.to = options.to;
        // `stats.messagesOut` counts when the ack settles it (the session's `messageAcked`).
        return session.enqueue(op, 'message');
      }) as Promise<SendResult | undefined>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Run `enqueue` once the stored session has loaded, in the order the application called: at
   * once (no promise hop on the hot path) when it has loaded and no earlier call still waits;
   * otherwise behind the waiting ones, which queue inside their own `then` callbacks, in turn.
   * A `send()` right after a `join()` must not take the lower `seq`.
   */
  #inOrder<T>(enqueue: () => T | Promise<T>): T | Promise<T> {
    if (this.#loaded && this.#waiting === 0) return enqueue();
    this.#waiting++;
    return this.#ready.then(() => {
      try {
        return enqueue();
      } finally {
        this.#waiting--;
      }
    });
  }

  /** Join a room (protocol mode); resolves when the server confirms. Queued while offline. */
  join(room: string): Promise<void> {
    return handled(this.#operation({ type: 'JOIN_ROOM', room }, 'join'));
  }

  /** Leave a room (protocol mode); resolves when the server confirms. Queued while offline. */
  leave(room: string): Promise<void> {
    return handled(this.#operation({ type: 'LEAVE_ROOM', room }, 'leave'));
  }

  async #operation(op: { type: 'JOIN_ROOM' | 'LEAVE_ROOM'; room: string }, kind: 'join' | 'leave'): Promise<void> {
    if (this.#closedByApp) throw new ResilientSocketError('ERR_CLOSED', 'closed; call reconnect()');
    await this.#inOrder(() => {
      if (this.#isPlain()) throw new ResilientSocketError('ERR_NOT_SUPPORTED', `${kind} needs the protocol`);
      return this.#session!.enqueue(op, kind);
    });
  }

  /**
   * Refresh credentials on the open connection (protocol `AUTH`), e.g. a renewed token. Resolves
   * with the user id the server's `authenticate` returned. Pass a function as the `auth` option
   * so that reconnections use fresh credentials too.
   */
  authenticate(credentials: Json): Promise<string | null> {
    if (!this.#session || this.#mode !== 'protocol') return handled(Promise.reject(new ResilientSocketError('ERR_NOT_SUPPORTED', 'authenticate() needs the protocol')));
    return handled(this.#session.authenticate(credentials));
  }

  /** The synced state of `scope`: public in `resilient-socket/state` (see its class). */
  protected getState(scope: string): StateValue | undefined {
    return this.#state?.get(scope);
  }

  /** Append a state event: public in `resilient-socket/state` (see its class). */
  protected dispatch(scope: string, event: Json): Promise<StateEventResult> {
    return handled(this.#dispatch(scope, event));
  }

  async #dispatch(scope: string, event: Json): Promise<StateEventResult> {
    if (this.#closedByApp) throw new ResilientSocketError('ERR_CLOSED', 'closed; call reconnect()');
    return this.#inOrder(() => {
      if (this.#isPlain() || !this.#state) throw new ResilientSocketError('ERR_NOT_SUPPORTED', 'dispatch() needs the protocol');
      return this.#state.dispatch(scope, event);
    });
  }

  /** @internal The session layer, for the state-sync module. */
  get _session(): ClientSession | undefined {
    return this.#session;
  }

  // ------------------------------------------------------------------ control

  /**
   * Drop the current connection (if any) and connect again at once, resetting the backoff.
   * Also restarts a client that stopped (`closed` after a fatal close code, `maxRetries`, or `close()`).
   */
  reconnect(code = 1000, reason = 'reconnect'): void {
    if (this.#status === 'closing' && this.#conn) {
      // close() is still waiting for its socket: finish that close now (its events included),
      // then start over below, as after a completed close().
      this.#conn.abort(code, reason);
      this.#finishClose(code, reason, false);
    }
    this.#closedForGood = false;
    this.#closedByApp = false;
    this.#retry.reset();
    this.#retry.cancel();
    this.#attachEnvironment();
    this.#slot?.reclaim();
    if (this.#conn) {
      this.#retry.skipBackoffOnce();
      this.#abort(this.#conn, code, reason);
      return;
    }
    this.#setStatus(this.#everOpened ? 'reconnecting' : 'connecting', 'reconnect() called');
    void this.#ready.then(() => this.#connect());
  }

  /**
   * Close for good: no reconnect. In protocol mode the server is told (`BYE`) and ends the
   * session; what the offline queue still holds is abandoned (promises reject with `ERR_CLOSED`)
   * and the persisted session is deleted. To keep the session for a page reload, do not call
   * `close()` on unload: just let the page go. With `{ endSession: false }` (a Node process
   * shutting down to restart) no `BYE` is sent and storage is kept: the next instance on the same
   * storage resumes the session and sends what is still queued.
   */
  close(code = 1000, reason = '', options: { endSession?: boolean } = {}): void {
    if (code !== 1000 && (code < 3000 || code > 4999)) {
      throw new ResilientSocketError('ERR_INVALID_OPTION', `close code must be 1000 or in 3000-4999, got ${code}`);
    }
    if (this.#closedForGood && this.#status === 'closed') {
      // Already stopped (a fatal close code, maxRetries): still end the session if asked.
      this.#slot?.release(options.endSession ?? true ? this.#endSession() : undefined);
      return;
    }
    this.#closedForGood = true;
    this.#closedByApp = true;
    this.#retry.cancel();
    this.#heartbeat?.stop();
    this.#detachEnvironment?.();
    this.#detachEnvironment = undefined;
    this.#setStatus('closing', 'close() called');
    this.#plain.rejectAll(new ResilientSocketError('ERR_CLOSED', 'closed before sent'));
    const conn = this.#conn;
    const endSession = options.endSession ?? true;
    if (conn && this.#handshaken && endSession) this.#transmit({ type: 'BYE' });
    if (endSession) this.#slot?.release(this.#endSession());
    else this.#slot?.release(this.#session?.suspend());
    if (!conn) {
      this.#finishClose(code, reason, true);
      return;
    }
    conn.close(code, reason);
    this.#closingTimer = this.#timers.setTimeout(() => {
      if (this.#conn === conn) {
        conn.detach();
        this.#finishClose(code, reason, false);
      }
    }, CLOSING_TIMEOUT);
  }

  /** Forget the session and the synced state in storage; settles when both are done. */
  #endSession(): Promise<unknown> {
    return Promise.allSettled([this.#session?.end(), this.#state?.clear()]);
  }

  // ------------------------------------------------------------------ connection lifecycle

  async #init(): Promise<void> {
    this.#attachEnvironment();
    if (this.#o.mode === 'plain') return;
    try {
      let key = this.#o.sessionKey;
      if (key === undefined) {
        try {
          key = deriveSessionKey(typeof this.#urlProvider === 'string' ? this.#urlProvider : await this.#urlProvider());
        } catch {
          key = 'default'; // the provider failed now; connection attempts will report it
        }
      }
      const kit = this.#kit!;
      this.#slot = await kit.slot(key, this.#o.environment, this.#o.random);
      if (this.#closedByApp) this.#slot.release();
      this.#session = kit.session(this.#sessionHost(), this.#slot.key, this.#o);
      this.#state = kit.state(this.#session, (change) => this.#emit('state', change));
      const [restored] = await Promise.all([this.#session.load(), this.#state.load()]);
      if (restored.length > 0) this.#emit('restored', restored);
    } catch (cause) {
      this.#reportError(new ResilientSocketError('ERR_CONNECT_FAILED', 'could not prepare the session', { cause }));
    }
  }

  async #connect(): Promise<void> {
    const attemptId = ++this.#attemptId;
    this.#retry.cancel();
    if (this.#closedForGood) return;
    let url: string;
    try {
      url = typeof this.#urlProvider === 'string' ? this.#urlProvider : await this.#urlProvider();
      if (typeof url !== 'string') throw new TypeError('the URL provider did not return a string');
    } catch (cause) {
      if (attemptId !== this.#attemptId || this.#closedForGood) return;
      this.#failed(new ResilientSocketError('ERR_CONNECT_FAILED', 'the URL provider failed', { cause }));
      return;
    }
    if (attemptId !== this.#attemptId || this.#closedForGood) return;
    this.#url = url;
    const offer = this.#o.mode === 'plain' || this.#plainDetected ? this.#o.protocols : [SUBPROTOCOL, ...this.#o.protocols];
    let conn: Connection;
    try {
      conn = new Connection({ WebSocket: this.#WebSocket, url, protocols: offer, binaryType: this.#binaryType, timers: this.#timers, connectTimeout: this.#o.connectTimeout }, this.#handlers);
    } catch (cause) {
      this.#failed(new ResilientSocketError('ERR_CONNECT_FAILED', `cannot open ${url}`, { cause }));
      return;
    }
    this.#conn = conn;
    this.#handshaken = false;
    this.#mode = undefined;
    this.#lastServerError = undefined;
  }

  /** Routes the current connection's events; events of an older connection are ignored. */
  readonly #handlers: ConnectionHandlers = {
    open: (conn) => void this.#onSocketOpen(conn),
    message: (conn, data) => this.#onSocketMessage(conn, data),
    error: (conn, event) => this.#onSocketError(conn, event),
    close: (conn, code, reason, wasClean) => {
      if (conn === this.#conn) this.#connectionLost(code, reason, wasClean);
    },
    timeout: (conn) => {
      if (conn !== this.#conn) return;
      this.#reportError(new ResilientSocketError('ERR_CONNECT_TIMEOUT', `no connection within ${this.#o.connectTimeout} ms`));
      this.#abort(conn, 4000, 'connect timeout');
    },
  };

  async #onSocketOpen(conn: Connection): Promise<void> {
    if (conn !== this.#conn) return;
    const speaksProtocol = conn.socket.protocol === SUBPROTOCOL;
    if (this.#o.mode === 'plain' || (!speaksProtocol && this.#o.mode === 'auto')) {
      if (this.#o.mode === 'auto') this.#switchToPlain();
      this.#mode = 'plain';
      this.#opened({ mode: 'plain', recovered: false, reason: 'plain' });
      this.#flushPlain();
      return;
    }
    if (!speaksProtocol) {
      this.#reportError(new ResilientSocketError('ERR_PROTOCOL', `no ${SUBPROTOCOL} subprotocol`));
      this.#abort(conn, 4000, 'no subprotocol');
      return;
    }
    this.#mode = 'protocol';
    let auth: Json | undefined;
    try {
      auth = typeof this.#o.auth === 'function' ? await this.#o.auth() : this.#o.auth;
    } catch (cause) {
      if (conn !== this.#conn) return;
      this.#reportError(new ResilientSocketError('ERR_UNAUTHORIZED', 'the auth option failed', { cause }));
      this.#abort(conn, 4000, 'auth failed');
      return;
    }
    if (conn !== this.#conn) return;
    this.#transmit(this.#session!.handshake(auth));
  }

  #onSocketMessage(conn: Connection, data: unknown): void {
    if (conn !== this.#conn) return;
    this.#stats.framesIn++;
    this.#stats.bytesIn += byteLength(data);
    this.#heartbeat?.received();
    if (this.#mode === 'plain') {
      this.#deliver({ data, self: false, replayed: false });
      return;
    }
    if (typeof data !== 'string') {
      this.#reportError(new ResilientSocketError('ERR_BINARY_NOT_SUPPORTED', 'binary frame from the server'));
      return;
    }
    const decoded = this.#kit!.decode(data);
    if (this.#o.mode === 'auto' && !this.#handshaken && !(decoded.ok && HANDSHAKE_ANSWERS.has(decoded.frame.type))) {
      // The server selected the subprotocol but does not speak it: `ws` servers select the first
      // offered subprotocol by default, so an echo server sends our HELLO back. Plain it is.
      this.#plainDetected = true;
      this.#retry.skipBackoffOnce();
      this.#abort(conn, 1000, 'plain server');
      return;
    }
    if (!decoded.ok) {
      this.#reportError(new ResilientSocketError(decoded.code, `invalid frame from the server: ${decoded.message}`));
      return;
    }
    try {
      this.#session!.handle(decoded.frame);
    } catch (cause) {
      // A bug or a listener exception must not leave the connection in an unknown state.
      this.#reportError(new ResilientSocketError('ERR_INTERNAL', `failed to handle ${decoded.frame.type}`, { cause }));
    }
  }

  #onSocketError(conn: Connection, event: { message?: string; error?: unknown }): void {
    // Closing a socket that is still connecting makes it report an error: not news after close().
    if (conn !== this.#conn || this.#closedForGood) return;
    const message = event.message ?? (event.error instanceof Error ? event.error.message : '');
    if (this.#o.mode === 'auto' && /no subprotocol/i.test(message)) {
      // Node's ws refuses a server that selects no subprotocol: a plain server. Connect again at
      // once without offering one.
      this.#plainDetected = true;
      this.#retry.skipBackoffOnce();
      return;
    }
    this.#reportError(new ResilientSocketError('ERR_CONNECT_FAILED', message || 'WebSocket error', { cause: event.error }));
  }

  /** Tear a connection down now (timeouts, heartbeat, reconnect()) without waiting for its close event. */
  #abort(conn: Connection, code: number, reason: string): void {
    if (conn !== this.#conn) return;
    conn.abort(code, reason);
    this.#connectionLost(code, reason, false);
  }

  #connectionLost(code: number, reason: string, wasClean: boolean): void {
    this.#conn?.detach();
    this.#conn = undefined;
    this.#handshaken = false;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.#session?.disconnected();
    if (this.#status === 'closing' || this.#closedForGood) {
      this.#finishClose(code, reason, wasClean);
      return;
    }
    const serverError = this.#lastServerError;
    const stopCode = stopErrorOf(code) ?? (serverError && ERRORS[serverError.code].action === 'stop' ? serverError.code : undefined);
    const stop = stopCode !== undefined;
    this.#emitClose({ code, reason, wasClean, willReconnect: !stop });
    if (stop) {
      const error = serverError?.code === stopCode && serverError ? serverError : new ResilientSocketError(stopCode ?? 'ERR_UNAUTHORIZED', `the server closed the connection with ${code}${reason ? ` (${reason})` : ''}`, { closeCode: code });
      this.#reportError(error);
      this.#closedForGood = true;
      this.#setStatus('closed', `stopped by close code ${code}`, error);
      return;
    }
    this.#scheduleRetry(`socket closed (${code})`);
  }

  #failed(error: ResilientSocketError): void {
    this.#reportError(error);
    this.#scheduleRetry(error.code);
  }

  #scheduleRetry(reason: string): void {
    const retry = this.#retry.schedule();
    if (!retry) {
      const error = new ResilientSocketError('ERR_MAX_RETRIES', `gave up after ${this.#o.maxRetries} retries`);
      this.#reportError(error);
      this.#closedForGood = true;
      this.#setStatus('closed', error.code, error);
      return;
    }
    this.#setStatus(this.#everOpened ? 'reconnecting' : 'connecting', reason);
    this.#emit('retry', retry);
  }

  #opened(info: OpenInfo, heartbeat?: { interval: number; timeout: number }): void {
    const conn = this.#conn!;
    conn.established();
    this.#retry.reset();
    this.#handshaken = true;
    this.#recovered = info.recovered;
    if (this.#everOpened) this.#stats.reconnects++;
    this.#everOpened = true;
    if (heartbeat) {
      this.#heartbeat = this.#kit!.heartbeat({
        interval: this.#o.heartbeatInterval ?? (heartbeat.interval || DEFAULTS.heartbeatInterval),
        timeout: this.#o.heartbeatTimeout ?? (heartbeat.timeout || DEFAULTS.heartbeatTimeout),
        timers: this.#timers,
        ping: () => this.#transmit({ type: 'PING', t: this.#o.now() }),
        onTimeout: () => {
          this.#reportError(new ResilientSocketError('ERR_HEARTBEAT_TIMEOUT', 'no heartbeat answer'));
          this.#abort(conn, CLOSE_CODES.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        },
      });
      this.#heartbeat.start();
    }
    this.#setStatus('open', info.mode === 'plain' ? 'open (plain)' : info.recovered ? 'session resumed' : `session ${info.reason ?? 'new'}`);
    this.#emit('open', info);
    this.#compat.dispatch('open', { type: 'open', ...info });
  }

  #finishClose(code: number, reason: string, wasClean: boolean): void {
    this.#timers.clearTimeout(this.#closingTimer);
    this.#conn?.detach();
    this.#conn = undefined;
    this.#setStatus('closed', 'closed');
    this.#emitClose({ code, reason, wasClean, willReconnect: false });
  }

  // ------------------------------------------------------------------ plain mode

  #isPlain(): boolean {
    return this.#o.mode === 'plain' || this.#plainDetected;
  }

  #switchToPlain(): void {
    if (this.#plainDetected && !this.#session) return;
    this.#plainDetected = true;
    for (const item of this.#session?.takeForPlain() ?? []) {
      this.#plain.adopt(item.data as PlainData, (r) => item.resolve(r === undefined ? undefined : { id: item.id }), item.reject);
    }
  }

  #sendPlain(data: PlainData): Promise<SendResult | undefined> {
    if (data === undefined) return Promise.reject(new ResilientSocketError('ERR_BAD_FRAME', 'send() needs data'));
    let promise: Promise<unknown>;
    try {
      promise = this.#plain.push(data);
    } catch (error) {
      this.#emit('queuefull', queueFullInfo(error as ResilientSocketError));
      return Promise.reject(error);
    }
    this.#flushPlain();
    return promise.then(() => {
      this.#stats.messagesOut++;
      return undefined;
    });
  }

  #flushPlain(): void {
    const conn = this.#conn;
    if (!conn || this.#mode !== 'plain' || this.#status !== 'open') return;
    this.#plain.flush((raw) => {
      if (!conn.send(raw)) throw new Error('socket not open');
      this.#stats.framesOut++;
      this.#stats.bytesOut += byteLength(raw);
    });
  }

  // ------------------------------------------------------------------ plumbing

  #transmit(frame: ClientFrame): boolean {
    const text = encodeFrame(frame);
    return this.#transmitText(text, utf8Length(text));
  }

  #transmitText(text: string, bytes: number): boolean {
    if (!this.#conn?.send(text)) return false;
    this.#stats.framesOut++;
    this.#stats.bytesOut += bytes;
    return true;
  }

  #sessionHost(): ConstructorParameters<typeof ClientSession>[0] {
    return {
      timers: this.#timers,
      random: this.#o.random,
      emit: (event, arg) => this.#emit(event, arg),
      transmit: (frame) => this.#transmit(frame),
      transmitText: (text, bytes) => this.#transmitText(text, bytes),
      deliver: (message) => this.#deliver(message),
      messageAcked: () => {
        this.#stats.messagesOut++;
      },
      listens: (event) => this.listenerCount(event) > 0,
      opened: (info, heartbeat) => this.#opened(info, heartbeat),
      restart: (error) => {
        this.#reportError(error);
        if (this.#conn) this.#abort(this.#conn, CLOSE_CODES.PROTOCOL, error.code);
      },
      pong: (t) => {
        this.#stats.rtt = Math.max(0, this.#o.now() - t);
      },
      serverError: (error) => {
        this.#lastServerError = error;
        this.#reportError(error);
      },
    };
  }

  #deliver(message: ReceivedMessage): void {
    this.#stats.messagesIn++;
    this.#emit('message', message);
    // Only when a WebSocket-style listener may exist: the dispatch builds an event either way.
    // dispatch() copies the fields into its event (and sets `type`): no copy of our own here.
    if (this.onmessage || this.#compatMessages) this.#compat.dispatch('message', message as unknown as { type: 'message' } & Record<string, unknown>);
  }

  #emitClose(info: CloseInfo): void {
    this.#emit('close', info);
    this.#compat.dispatch('close', { type: 'close', ...info });
  }

  #reportError(error: ResilientSocketError): void {
    this.#emit('error', error);
    this.#compat.dispatch('error', { type: 'error', error, message: error.message });
  }

  /**
   * Emit without letting a throwing listener break the client: the error is re-thrown in a new
   * task (as browsers report listener errors), after the client's own bookkeeping is done.
   */
  #emit<K extends keyof ReconnectingWebSocketEvents>(event: K, arg: Parameters<ReconnectingWebSocketEvents[K]>[0]): void {
    // every event has one argument: no rest array and spread per message
    try {
      (this.emit as (e: K, a: unknown) => boolean)(event, arg);
    } catch (error) {
      rethrowLater(error);
    }
  }

  #setStatus(to: ConnectionStatus, reason?: string, error?: ResilientSocketError): void {
    const from = this.#status;
    if (from === to) return;
    this.#status = to;
    this.#emit('status', { from, to, ...(reason === undefined ? {} : { reason }), ...(error ? { error } : {}) });
  }

  #queueLength(): number {
    return this.#plain.length + (this.#session?.queue.length ?? 0);
  }

  #queueBytes(): number {
    return this.#plain.bytes + (this.#session?.queue.bytes ?? 0);
  }

  /** Retry at once on `online` and when the page becomes visible; check an open connection. */
  #attachEnvironment(): void {
    this.#detachEnvironment ??= watchEnvironment(this.#o, () => this.#wake());
  }

  #wake(): void {
    if (this.#closedForGood) return;
    if (!this.#retry.runNow() && this.#status === 'open') {
      this.#heartbeat?.pingNow();
    }
  }
}
