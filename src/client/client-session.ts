/**
 * The protocol side of the client: the session (id, resume token), the offline queue, stream
 * positions and their persistence, and what every server frame means for them. It knows nothing
 * about sockets or reconnect timing; `ReconnectingWebSocket` drives it through a small host
 * interface. @internal
 */
import { MAX_ID_LENGTH, ROOM_NAME, encodeFrame, utf8Length, validateQueuedFrame } from '../protocol/codec.js';
import { ResilientSocketError, isErrorCode } from '../protocol/errors.js';
import { PROTOCOL_VERSION, roomStream, sessionStream } from '../protocol/frames.js';
import type {
  ClientFrame,
  Json,
  MessageFrame,
  NewMessageFrame,
  NewSessionFrame,
  NotRecoveredReason,
  Positions,
  ServerFrame,
  ServerLimits,
  StateRecoveredFrame,
  StreamGap,
} from '../protocol/frames.js';
import { GuardedStorage } from '../storage/guarded-storage.js';
import type { StorageAdapter } from '../storage/storage-adapter.js';
import { CoalescedWriter } from './coalesced-writer.js';
import type { OpenInfo, OperationInfo, OperationKind, ReceivedMessage, ReconnectingWebSocketEvents, RecoveryInfo, SentInfo } from './events.js';
import { OfflineQueue, encoded } from './offline-queue.js';
import type { Operation, QueueItem, QueueSnapshot } from './offline-queue.js';
import { queueFullInfo } from './queue-full.js';
import { StreamPositions } from './stream-positions.js';
import type { Timers } from './timers.js';

/** What an acknowledged `send()` resolves with. */
export interface SendResult {
  /** The message id. */
  id: string;
  /** Where the message landed in its stream, when the server said so. */
  offset?: number;
}

/** What an acknowledged state event (`dispatch()`) resolves with. */
export interface StateEventResult {
  /**
   * The version the event produced. Absent when the server had already applied the event (a
   * re-send after the first acknowledgement was lost): it was applied once, at an earlier version.
   */
  version?: number;
}

/** Options of `send()`. */
export interface SendOptions {
  /** Publish to this room (the client must have joined it). */
  room?: string;
  /** Send to this session id (a direct message). */
  to?: string;
  /** Your own message id (default: generated, unique per client). */
  id?: string;
}

type Emit = <K extends keyof ReconnectingWebSocketEvents>(event: K, arg: Parameters<ReconnectingWebSocketEvents[K]>[0]) => void;

/** What the session needs from the connection owner. @internal */
export interface SessionHost {
  timers: Timers;
  random: () => number;
  emit: Emit;
  /** Send a frame on the current connection; false when there is none. */
  transmit(frame: ClientFrame): boolean;
  /** Send an already encoded frame (`bytes`: its UTF-8 length); false when there is no connection. */
  transmitText(text: string, bytes: number): boolean;
  /** Deliver an application message (event and `onmessage`). */
  deliver(message: ReceivedMessage): void;
  /** A `send()` of this instance was acknowledged (for `stats.messagesOut`). */
  messageAcked(): void;
  /** Whether the application listens to `event` (skip building an event nobody receives). */
  listens(event: keyof ReconnectingWebSocketEvents): boolean;
  /** The handshake completed. */
  opened(info: OpenInfo, heartbeat: { interval: number; timeout: number }): void;
  /** The connection must be dropped and re-established. */
  restart(error: ResilientSocketError): void;
  /** A PONG arrived. */
  pong(t: number): void;
  /** The server sent an `ERROR` frame (report it; it may explain the coming close). */
  serverError(error: ResilientSocketError): void;
}

/** Hooks for the state-sync layer. @internal */
export interface SessionHooks {
  /** State versions held, sent in `RECONNECT.state`. */
  stateVersions?(): Record<string, number>;
  /** A frame this class does not handle (`STATE_UPDATE`, `AUTH_OK`). */
  frame?(frame: ServerFrame): void;
  /** A new session started: state versions held are void. */
  newSession?(): void;
  /** The connection is gone. */
  disconnected?(): void;
  /** The session left a room (`ROOM_LEFT_ACK`). */
  roomLeft?(room: string): void;
  /** The session was resumed (`STATE_RECOVERED`) and is in exactly these rooms. */
  resumed?(rooms: string[]): void;
}

interface MainRecord {
  v: 1;
  clientId: string;
  nextLocalId: number;
  session: { id: string; token: string; user: string | null } | null;
  rooms: string[];
  queue: QueueSnapshot;
}

interface PositionsRecord {
  v: 1;
  positions: Positions;
}

interface Deferred {
  resolve(result: SendResult | StateEventResult | undefined): void;
  reject(error: ResilientSocketError): void;
}

/** Session, queue and positions of one client. @internal */
export class ClientSession {
  readonly #host: SessionHost;
  readonly #storage: GuardedStorage;
  readonly #mainKey: string;
  readonly #positionsKey: string;
  readonly #ackInterval: number;
  readonly #ackEvery: number;
  #queue: OfflineQueue;
  readonly #limitsOfQueue: { maxLength: number; maxBytes: number };
  readonly #positions: StreamPositions;
  readonly #pending = new Map<number, Deferred>();
  readonly #unread: boolean;
  readonly #mainWriter: CoalescedWriter;
  readonly #positionsWriter: CoalescedWriter;
  #clientId = '';
  #nextLocalId = 1;
  #session: MainRecord['session'] = null;
  /** Room names a `MESSAGE` of this client was validated for (see `#plainMessage`). */
  readonly #validRooms = new Set<string>();
  /** Session ids this client has had: its own room messages replayed after a new session are still its own. */
  readonly #selfIds = new Set<string>();
  /** Rooms the server confirmed for the current session. */
  #rooms = new Set<string>();
  #limits: ServerLimits | undefined;
  /** Bumped whenever numbering or credentials change: nothing is sent until that is persisted. */
  #gen = 0;
  #persistedGen = -1;
  #persistedSeq = 0;
  /** Highest `seq` sent on the current connection. */
  #transmittedUpTo = 0;
  #connected = false;
  #awaitingAnswer = false;
  #recovery: RecoveryInfo | undefined;
  #unackedPositions = 0;
  #ackTimer: unknown;
  /** Pending check that an operation the server reported an `ERROR` for was acknowledged. */
  #errorAckTimer: unknown;
  #ended = false;
  /** Hooks of the state-sync layer (the synced application state is not this class's business). */
  readonly hooks: SessionHooks = {};
  readonly #auths = new Map<string, { resolve(user: string | null): void; reject(error: ResilientSocketError): void }>();
  #authCounter = 0;
  #lazySaveTimer: unknown;
  /** Closed with the session kept for another instance: no more writes until a new connection. */
  #suspended = false;

  /**
   * @param unread nobody can ever read this storage's session records (the client's own default
   *   MemoryStorage): they are not written, the queue counts as persisted once a write would have run
   */
  constructor(host: SessionHost, storage: StorageAdapter, sessionKey: string, o: { maxQueueLength: number; maxQueueBytes: number; ackInterval: number; ackEvery: number; storageTimeout: number }, unread = false) {
    this.#host = host;
    this.#unread = unread;
    this.#storage = new GuardedStorage(
      storage,
      (error) => {
        host.emit('storagefailed', error);
        host.emit('error', error);
      },
      { ms: o.storageTimeout, timers: host.timers },
      `resilient-socket:${sessionKey}:`,
    );
    this.#mainKey = `resilient-socket:${sessionKey}:session`;
    this.#positionsKey = `resilient-socket:${sessionKey}:positions`;
    this.#ackInterval = o.ackInterval;
    this.#ackEvery = o.ackEvery;
    this.#limitsOfQueue = { maxLength: o.maxQueueLength, maxBytes: o.maxQueueBytes };
    this.#queue = new OfflineQueue(this.#limitsOfQueue);
    this.#positions = new StreamPositions();
    this.#mainWriter = new CoalescedWriter(() => this.#writeMain());
    this.#positionsWriter = new CoalescedWriter(() => this.#writePositions());
  }

  /** The offline queue (read access for stats). */
  get queue(): OfflineQueue {
    return this.#queue;
  }

  /** Current session id, if any. */
  get sessionId(): string | undefined {
    return this.#session?.id;
  }

  /** Positions processed so far, per stream. */
  positions(): Positions {
    return this.#positions.snapshot();
  }

  /** Load what an earlier instance left. Returns the restored operations. */
  async load(): Promise<OperationInfo[]> {
    const [main, positions] = await Promise.all([this.#storage.get(this.#mainKey), this.#storage.get(this.#positionsKey)]);
    const record = isMainRecord(main) ? main : undefined;
    this.#clientId = record?.clientId ?? randomId(this.#host.random);
    this.#nextLocalId = record?.nextLocalId ?? 1;
    this.#session = record?.session ?? null;
    if (this.#session) this.#selfIds.add(this.#session.id);
    this.#rooms = new Set(record?.rooms ?? []);
    // What an earlier instance accepted is never refused on load: the bounds apply to new items.
    if (record) this.#queue = new OfflineQueue(this.#limitsOfQueue, record.queue);
    if (isPositionsRecord(positions)) {
      for (const [stream, p] of Object.entries(positions.positions)) this.#positions.set(stream, p);
    }
    return this.#queue.items().map((i) => describe(i));
  }

  /** The first frame of a connection: `RECONNECT` when a session is known, `HELLO` otherwise. */
  handshake(auth: Json | undefined): ClientFrame {
    this.#awaitingAnswer = true;
    this.#suspended = false;
    if (this.#session) {
      return {
        type: 'RECONNECT',
        v: PROTOCOL_VERSION,
        sessionId: this.#session.id,
        resumeToken: this.#session.token,
        positions: this.#positions.snapshot(),
        lastAckedSeq: this.#queue.lastAckedSeq,
        ...(this.hooks.stateVersions ? { state: this.hooks.stateVersions() } : {}),
        ...(auth === undefined ? {} : { auth }),
        foldAcks: true,
      };
    }
    // `state` (empty: a new session holds no versions) asks the server to send synced state.
    // `foldAcks`: the ACK of a room message may come folded into its own copy (`NEW_MESSAGE.ack`).
    return { type: 'HELLO', v: PROTOCOL_VERSION, ...(this.hooks.stateVersions ? { state: {} } : {}), ...(auth === undefined ? {} : { auth }), foldAcks: true };
  }

  /** The connection is gone. */
  disconnected(): void {
    this.#connected = false;
    this.#awaitingAnswer = false;
    this.#transmittedUpTo = 0;
    this.#positions.clearPending();
    this.#host.timers.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#host.timers.clearTimeout(this.#errorAckTimer);
    this.#errorAckTimer = undefined;
    this.#recovery = undefined;
    const auths = [...this.#auths.values()];
    this.#auths.clear();
    for (const a of auths) a.reject(new ResilientSocketError('ERR_NOT_READY', 'closed before AUTH_OK'));
    this.hooks.disconnected?.();
  }

  /**
   * Refresh credentials on the open connection (`AUTH`); resolves with the user id from
   * `AUTH_OK`, rejects with the server's error (e.g. `ERR_FORBIDDEN`) or when not connected.
   */
  authenticate(auth: Json): Promise<string | null> {
    const ref = `a${++this.#authCounter}`;
    if (!this.sendFrame({ type: 'AUTH', ref, auth })) {
      return Promise.reject(new ResilientSocketError('ERR_NOT_READY', 'not connected'));
    }
    return new Promise((resolve, reject) => this.#auths.set(ref, { resolve, reject }));
  }

  /** Send a frame outside the queue (`STATE_ACK`, `STATE_RESYNC`); false when not connected. */
  sendFrame(frame: ClientFrame): boolean {
    return this.#connected && this.#host.transmit(frame);
  }

  /** Storage namespaced for this client (the state layer keeps its scopes here). */
  storageKey(name: string): string {
    return this.#mainKey.replace(/:session$/, `:${name}`);
  }

  /** The guarded storage (never throws; falls back to memory). */
  get storage(): GuardedStorage {
    return this.#storage;
  }

  /** Queue an operation; resolves when the server acknowledges it. */
  enqueue(op: Operation, kind: OperationKind): Promise<SendResult | undefined> {
    if (this.#ended) return Promise.reject(new ResilientSocketError('ERR_CLOSED', 'the client was closed'));
    const seq = this.#queue.nextSeq;
    const plain = op.type === 'MESSAGE' && this.#plainMessage(op);
    // A plain room message is built field by field (no spread of `op`): one shape, one copy.
    const frame = plain ? messageFrame(op, seq) : ({ ...op, seq } as ClientFrame);
    // Validated as built, not re-parsed from its text: the fields checked are the ones this
    // client set (strings, numbers, a position); only the payload is the application's, and JSON
    // drops a payload that is not a value (a function, a symbol): refuse that as missing.
    const payload = op.type === 'MESSAGE' ? op.data : op.type === 'STATE_EVENT' ? op.event : null;
    if (!plain) {
      const check = typeof payload === 'function' || typeof payload === 'symbol' ? validateQueuedFrame({ ...frame, data: undefined, event: undefined }) : validateQueuedFrame(frame);
      if (!check.ok) return Promise.reject(new ResilientSocketError(check.code, check.message));
    }
    let text: string;
    try {
      text = encodeFrame(frame);
      // A payload with its own toJSON can encode to nothing (`toJSON: () => undefined`): the
      // frame would then lack it. Check what was encoded (only for such payloads: no cost else).
      if (typeof (payload as { toJSON?: unknown } | null)?.toJSON === 'function') {
        const encodedCheck = validateQueuedFrame(JSON.parse(text));
        if (!encodedCheck.ok) return Promise.reject(new ResilientSocketError(encodedCheck.code, encodedCheck.message));
      }
    } catch (cause) {
      return Promise.reject(new ResilientSocketError('ERR_BAD_FRAME', `${kind} cannot be encoded as JSON`, { cause }));
    }
    const bytes = utf8Length(text);
    if (this.#limits && bytes > this.#limits.maxPayload) {
      return Promise.reject(new ResilientSocketError('ERR_MESSAGE_TOO_LARGE', `${bytes} bytes > maxPayload ${this.#limits.maxPayload}`));
    }
    let item: QueueItem;
    try {
      item = this.#queue.push(op, bytes, false, text);
    } catch (error) {
      this.#host.emit('queuefull', queueFullInfo(error as ResilientSocketError));
      return Promise.reject(error);
    }
    const promise = new Promise<SendResult | StateEventResult | undefined>((resolve, reject) => this.#pending.set(item.key, { resolve, reject }));
    this.#saveMain();
    return promise as Promise<SendResult | undefined>;
  }

  /**
   * Whether a `MESSAGE` operation passes `validateQueuedFrame` for sure, checked without the
   * schema walk: the `seq` is the queue's own, the id is a string of 1-128 characters, the room
   * one this session validated before (a send to a room is nearly always to the same few) and
   * the payload a plain value. False means "check it with the schema", which gives the coded error.
   */
  #plainMessage(op: Omit<MessageFrame, 'seq'>): boolean {
    const { id, room, data } = op;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || op.to !== undefined) return false;
    if (data === undefined || typeof data === 'function' || typeof data === 'symbol') return false;
    if (room === undefined) return true;
    if (this.#validRooms.has(room)) return true;
    if (typeof room !== 'string' || !ROOM_NAME.test(room)) return false;
    // Bounded: a client publishing to ever new rooms checks each with the regex, no more.
    if (this.#validRooms.size >= 64) this.#validRooms.clear();
    this.#validRooms.add(room);
    return true;
  }

  /** Queue a `STATE_EVENT`; resolves with the version from the server's `ACK`. */
  enqueueStateEvent(scope: string, event: Json): Promise<StateEventResult> {
    return this.enqueue({ type: 'STATE_EVENT', scope, event }, 'state') as Promise<StateEventResult>;
  }

  /** A fresh message id. */
  nextMessageId(): string {
    return `${this.#clientId}-${this.#nextLocalId++}`;
  }

  /** Handle one decoded server frame. */
  handle(frame: ServerFrame): void {
    if (this.#awaitingAnswer && frame.type !== 'NEW_SESSION' && frame.type !== 'STATE_RECOVERED' && frame.type !== 'ERROR') {
      this.#host.restart(new ResilientSocketError('ERR_PROTOCOL', `expected a handshake answer, got ${frame.type}`));
      return;
    }
    if (!this.#awaitingAnswer && (frame.type === 'NEW_SESSION' || frame.type === 'STATE_RECOVERED')) {
      this.#host.restart(new ResilientSocketError('ERR_PROTOCOL', `unexpected second handshake answer ${frame.type}`));
      return;
    }
    switch (frame.type) {
      case 'NEW_SESSION':
        return this.#onNewSession(frame);
      case 'STATE_RECOVERED':
        return this.#onRecovered(frame);
      case 'REPLAY_DONE':
        if (this.#recovery) {
          this.#host.emit('recovered', this.#recovery);
          this.#recovery = undefined;
        }
        return this.#sendPositionAck();
      case 'NEW_MESSAGE':
        if (frame.ack !== undefined) this.#foldedAck(frame, frame.ack);
        return this.#onMessage(frame);
      case 'ACK':
        return this.#ack(frame.seq, frame.offset, frame.error, frame.version);
      case 'ROOM_JOINED_ACK': {
        const item = this.#queue.get(frame.seq);
        const since = item?.op.type === 'JOIN_ROOM' && item.op.room === frame.room ? item.op.since : undefined;
        const wasMember = this.#rooms.has(frame.room);
        this.#rooms.add(frame.room);
        // The ack's offset is where this client's position starts (the `since` position when the
        // server replays from it); never move backwards within an epoch. Re-joining a room it is
        // in without `since` never moves it forward either: entries up to the ack's offset may
        // still be on their way, and skipping past them would lose them.
        const p = this.#positions.get(frame.stream);
        if (!p || p.epoch !== frame.epoch || (p.offset < frame.offset && (since !== undefined || !wasMember))) this.#positions.set(frame.stream, { epoch: frame.epoch, offset: frame.offset });
        if (since && (since.epoch !== frame.epoch || frame.offset > since.offset)) {
          this.#gap({ stream: frame.stream, reason: since.epoch !== frame.epoch ? 'epoch_changed' : 'history_gap', from: since.offset + 1, to: frame.offset });
        }
        this.#savePositions();
        return this.#ack(frame.seq);
      }
      case 'ROOM_LEFT_ACK':
        this.#rooms.delete(frame.room);
        this.#positions.delete(roomStream(frame.room));
        this.#savePositions();
        this.hooks.roomLeft?.(frame.room);
        return this.#ack(frame.seq);
      case 'PONG':
        return this.#host.pong(frame.t);
      case 'AUTH_OK': {
        const pending = this.#auths.get(frame.ref);
        this.#auths.delete(frame.ref);
        if (this.#session) this.#session.user = frame.user;
        return pending?.resolve(frame.user);
      }
      case 'ERROR':
        if (frame.ref !== undefined && this.#auths.has(frame.ref)) {
          const pending = this.#auths.get(frame.ref)!;
          this.#auths.delete(frame.ref);
          pending.reject(toError(frame.code, frame.message, { ref: frame.ref }));
        }
        return this.#onError(frame.code, frame.message, frame);
      default:
        this.hooks.frame?.(frame);
    }
  }

  /**
   * The client stops but keeps its session for a later instance (a graceful process restart):
   * nothing is deleted; what is queued stays persisted and is sent by the next instance. The
   * promises of this instance reject with `ERR_CLOSED` (`details.kept: true`).
   */
  suspend(): Promise<unknown> | undefined {
    this.disconnected();
    // Write what is pending now, then nothing more: a later instance on the same storage owns
    // the record from here on, and a late write of ours would overwrite its newer token.
    this.#host.timers.clearTimeout(this.#lazySaveTimer);
    this.#lazySaveTimer = undefined;
    // Settles when those writes landed: the session slot is released only then (session-slot.ts).
    const written = this.#suspended ? undefined : Promise.all([this.#mainWriter.request(), this.#positionsWriter.request()]);
    this.#suspended = true;
    const error = new ResilientSocketError('ERR_CLOSED', 'client suspended; kept in storage', { details: { kept: true } });
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const d of pending) d.reject(error);
    return written;
  }

  /** The client was closed for good: forget the session and abandon what is queued. */
  async end(): Promise<void> {
    this.#ended = true;
    this.disconnected();
    this.#host.timers.clearTimeout(this.#lazySaveTimer);
    this.#lazySaveTimer = undefined;
    const abandoned = this.#queue.clear();
    const error = new ResilientSocketError('ERR_CLOSED', 'closed before the ack');
    for (const item of abandoned) this.#settle(item, undefined, error);
    this.#session = null;
    this.#rooms.clear();
    for (const stream of this.#positions.streams()) this.#positions.delete(stream);
    // Let a write already in flight land first, so it cannot resurrect the deleted record.
    await Promise.all([this.#mainWriter.request(), this.#positionsWriter.request()]);
    await Promise.all([this.#storage.delete(this.#mainKey), this.#storage.delete(this.#positionsKey)]);
    this.#ended = false;
  }

  /**
   * The server turned out not to speak the protocol: hand the queued messages over to plain
   * mode (their promises move with them) and refuse joins and leaves.
   */
  takeForPlain(): Array<{ data: Json; resolve: (r: SendResult | undefined) => void; reject: (e: ResilientSocketError) => void; id: string }> {
    const out: ReturnType<ClientSession['takeForPlain']> = [];
    for (const item of this.#queue.clear()) {
      const d = this.#pending.get(item.key);
      this.#pending.delete(item.key);
      if (item.op.type === 'MESSAGE') {
        const id = item.op.id;
        const resolve = (r: SendResult | undefined): void => {
          if (!d) return;
          this.#host.messageAcked();
          d.resolve(r);
        };
        out.push({ data: item.op.data, id, resolve, reject: (e) => d?.reject(e) });
      } else {
        d?.reject(new ResilientSocketError('ERR_NOT_SUPPORTED', `${item.op.type} needs the protocol`));
      }
    }
    this.#saveMain();
    return out;
  }

  // ------------------------------------------------------------------ handshake answers

  #onNewSession(frame: NewSessionFrame): void {
    const resumed = this.#session !== null;
    const reason: NotRecoveredReason = frame.reason ?? (resumed ? 'unknown' : 'new');
    // Re-join the rooms the old session was in, from where the application stopped, before the
    // queued operations (which may publish to them).
    const prefix = [...this.#rooms]
      .filter((room) => !(room in frame.rooms))
      .map((room) => {
        const since = this.#positions.get(roomStream(room));
        const op: Operation = since ? { type: 'JOIN_ROOM', room, since } : { type: 'JOIN_ROOM', room };
        return { op, bytes: utf8Length(encodeFrame({ ...op, seq: 1 } as ClientFrame)) };
      });
    this.#queue.renumber(prefix);
    for (const stream of this.#positions.streams()) if (stream.startsWith('session:')) this.#positions.delete(stream);
    this.#session = { id: frame.sessionId, token: frame.resumeToken, user: frame.user };
    this.#rooms = new Set(Object.keys(frame.rooms));
    for (const rp of Object.values(frame.rooms)) {
      const p = this.#positions.get(rp.stream);
      if (!p || p.epoch !== rp.epoch) this.#positions.set(rp.stream, { epoch: rp.epoch, offset: rp.offset });
    }
    this.hooks.newSession?.();
    this.#handshakeDone(frame);
    const info: OpenInfo = { mode: 'protocol', recovered: false, reason, sessionId: frame.sessionId, user: frame.user };
    this.#host.opened(info, frame.heartbeat);
    this.#host.emit('recovered', { recovered: false, reason, gaps: [], replayed: 0, sessionId: frame.sessionId });
  }

  #onRecovered(frame: StateRecoveredFrame): void {
    this.#session = { id: frame.sessionId, token: frame.resumeToken, user: frame.user };
    for (const item of this.#queue.settleUpTo(frame.lastSeq)) this.#settle(item);
    this.#rooms = new Set(Object.keys(frame.rooms));
    const roomStreams = new Map(Object.values(frame.rooms).map((rp) => [rp.stream, rp]));
    const own = sessionStream(frame.sessionId);
    for (const stream of this.#positions.streams()) {
      if (stream !== own && !roomStreams.has(stream)) this.#positions.delete(stream);
    }
    const gaps: StreamGap[] = frame.gaps ?? [];
    for (const gap of gaps) {
      // The server replays nothing of a stream with a gap: move on to its current offset. Without
      // a position of our own, accept whatever comes first.
      const had = this.#positions.get(gap.stream);
      const epoch = roomStreams.get(gap.stream)?.epoch ?? had?.epoch;
      if (had && gap.to !== undefined && epoch !== undefined) this.#positions.set(gap.stream, { epoch, offset: gap.to });
      else this.#positions.reset(gap.stream);
    }
    this.hooks.resumed?.([...this.#rooms]);
    this.#handshakeDone(frame);
    const reason = frame.recovered ? undefined : (frame.reason ?? 'history_gap');
    this.#recovery = { recovered: frame.recovered, ...(reason ? { reason } : {}), gaps, replayed: 0, sessionId: frame.sessionId };
    this.#host.opened({ mode: 'protocol', recovered: frame.recovered, ...(reason ? { reason } : {}), sessionId: frame.sessionId, user: frame.user }, frame.heartbeat);
    for (const gap of gaps) this.#host.emit('gap', gap);
  }

  #handshakeDone(frame: NewSessionFrame | StateRecoveredFrame): void {
    this.#awaitingAnswer = false;
    this.#selfIds.add(frame.sessionId);
    this.#limits = frame.limits;
    this.#connected = true;
    this.#transmittedUpTo = 0;
    this.#gen++;
    this.#saveMain();
    this.#savePositions();
  }

  // ------------------------------------------------------------------ messages and acks

  #onMessage(frame: NewMessageFrame): void {
    // in order with nothing buffered (nearly every message): no result object, no array
    if (this.#positions.advance(frame)) {
      this.#deliverOne(frame);
      return this.#delivered(1);
    }
    const result = this.#positions.receive(frame);
    if (result.epochChanged) this.#gap({ stream: result.epochChanged.stream, reason: 'epoch_changed', from: result.epochChanged.from });
    if (result.resync) this.#host.transmit(result.resync);
    this.#deliverAll(result.deliver);
  }

  #deliverAll(messages: NewMessageFrame[]): void {
    if (messages.length === 0) return;
    for (const m of messages) this.#deliverOne(m);
    this.#delivered(messages.length);
  }

  #deliverOne(m: NewMessageFrame): void {
    if (m.replay && this.#recovery) this.#recovery.replayed++;
    const message: ReceivedMessage = { data: m.data, stream: m.stream, offset: m.offset, id: m.id, from: m.from, self: m.from !== null && this.#selfIds.has(m.from), replayed: m.replay === true, ts: m.ts };
    if (m.room !== undefined) message.room = m.room;
    if (m.user !== undefined) message.user = m.user;
    this.#host.deliver(message);
  }

  /** Positions moved by `count` delivered messages: persist them, ack them when due. */
  #delivered(count: number): void {
    this.#savePositions();
    this.#unackedPositions += count;
    if (this.#unackedPositions >= this.#ackEvery) this.#sendPositionAck();
    // An ack sent at `ackEvery` leaves the timer running (it finds nothing to ack, or acks what
    // came since, still within `ackInterval`): clearing and re-arming a timer for every batch cost
    // more than the acks themselves.
    else if (this.#ackTimer === undefined) this.#ackTimer = this.#host.timers.setTimeout(this.#ackTimerFired, this.#ackInterval);
  }

  readonly #ackTimerFired = (): void => {
    this.#ackTimer = undefined;
    this.#sendPositionAck();
  };

  #sendPositionAck(): void {
    if (!this.#connected || this.#unackedPositions === 0) return;
    this.#unackedPositions = 0;
    this.#host.transmit({ type: 'POSITION_ACK', positions: this.#positions.snapshot() });
  }

  /** `NEW_MESSAGE.ack`: the ACK of this client's own room message, folded into its copy. */
  #foldedAck(frame: NewMessageFrame, seq: number): void {
    const item = this.#queue.get(seq);
    if (item !== undefined && (item.op.type !== 'MESSAGE' || item.op.id !== frame.id || item.op.room !== frame.room)) {
      // Not the operation this message came from: acknowledge nothing; the next ACK or resume settles it.
      this.#host.emit('error', new ResilientSocketError('ERR_PROTOCOL', `NEW_MESSAGE.ack ${seq} names another operation than message ${frame.id}`, { details: { seq } }));
      return;
    }
    this.#ack(seq, frame.offset);
  }

  #ack(seq: number, offset?: number, error?: { code: string; message: string }, version?: number): void {
    if (seq >= this.#queue.nextSeq) return; // acknowledges nothing we sent
    const refused = error ? toError(error.code, error.message, { seq }) : undefined;
    // In step with the sends (nearly always) the ack settles exactly the first item: no array.
    const first = this.#queue.ackFirst(seq);
    if (first !== undefined) this.#settle(first, offset, refused, version);
    else {
      for (const item of this.#queue.ack(seq)) {
        const own = item.seq === seq;
        this.#settle(item, own ? offset : undefined, own ? refused : undefined, own ? version : undefined);
      }
    }
    // Acks need not be durable at once: after a crash, an acked operation that is still stored
    // is re-sent and the server acknowledges it again without processing it twice.
    this.#saveMainSoon();
  }

  #settle(item: QueueItem, offset?: number, error?: ResilientSocketError, version?: number): void {
    if (this.#host.listens('sent')) {
      const info: SentInfo = describe(item);
      if (offset !== undefined) info.offset = offset;
      if (error) info.error = error;
      this.#host.emit('sent', info);
    }
    const d = this.#pending.get(item.key);
    if (!d) return;
    this.#pending.delete(item.key);
    if (error) d.reject(error);
    else if (item.op.type === 'MESSAGE') {
      this.#host.messageAcked();
      d.resolve(offset === undefined ? { id: item.op.id } : { id: item.op.id, offset });
    } else d.resolve(item.op.type === 'STATE_EVENT' ? (version === undefined ? {} : { version }) : undefined);
  }

  #onError(code: string, message: string, frame: { seq?: number; stream?: string }): void {
    const error = toError(code, message, { ...(frame.seq === undefined ? {} : { seq: frame.seq }), ...(frame.stream === undefined ? {} : { stream: frame.stream }) });
    this.#host.serverError(error);
    // A gap at a join was reported with its ROOM_JOINED_ACK; here only holes this client asked
    // to fill (RESYNC) matter.
    if (code === 'ERR_HISTORY_GAP' && frame.stream !== undefined && this.#positions.isResyncing(frame.stream)) {
      const skipped = this.#positions.skipGap(frame.stream);
      this.#gap({ stream: frame.stream, reason: 'history_gap', from: skipped.from });
      this.#deliverAll(skipped.deliver);
    } else if (code === 'ERR_OUT_OF_ORDER') {
      this.#host.restart(error);
    } else if (frame.seq !== undefined && this.#queue.get(frame.seq) !== undefined && this.#errorAckTimer === undefined) {
      // An error about an operation still queued: the server either refuses it with an ACK right
      // behind this frame, or it failed without acknowledging it (then nothing would ever settle
      // it on this connection). Give the ACK a moment; without it, start over: the resume's
      // `lastSeq` settles the operation or the queue re-sends it.
      const seq = frame.seq;
      this.#errorAckTimer = this.#host.timers.setTimeout(() => {
        this.#errorAckTimer = undefined;
        if (this.#connected && this.#queue.get(seq) !== undefined) this.#host.restart(error);
      }, ERROR_ACK_GRACE_MS);
    }
  }

  #gap(gap: StreamGap): void {
    this.#host.emit('gap', gap);
  }

  // ------------------------------------------------------------------ persistence and sending

  #saveMainSoon(): void {
    if (this.#lazySaveTimer !== undefined) return;
    this.#lazySaveTimer = this.#host.timers.setTimeout(() => {
      this.#lazySaveTimer = undefined;
      this.#saveMain();
    }, this.#ackInterval);
  }

  #saveMain(): void {
    if (this.#suspended) return;
    if (this.#unread && this.#persistedGen === this.#gen && !this.#ended) {
      // Storage nobody reads: there is nothing to wait for, so what a write would mark persisted
      // (everything queued, in the numbering a write already covered) is marked now and sent
      // without the writer's promise hops. A numbering change still goes through the writer.
      this.#persistedSeq = Math.max(this.#persistedSeq, this.#queue.lastSeq);
      this.#flush();
      return;
    }
    this.#mainWriter.schedule();
  }

  #savePositions(): void {
    // Storage nobody reads: the write would do nothing (see `#writePositions`); skip its promise hops.
    if (!this.#suspended && !this.#unread) this.#positionsWriter.schedule();
  }

  async #writeMain(): Promise<void> {
    if (this.#ended) return;
    const gen = this.#gen;
    const maxSeq = this.#queue.lastSeq;
    if (!this.#unread) {
      const record: MainRecord = {
        v: 1,
        clientId: this.#clientId,
        nextLocalId: this.#nextLocalId,
        session: this.#session,
        rooms: [...this.#rooms],
        queue: this.#queue.snapshot(),
      };
      await this.#storage.set(this.#mainKey, record);
    }
    if (gen !== this.#gen) return; // numbering changed meanwhile: the next write covers it
    this.#persistedSeq = this.#persistedGen === gen ? Math.max(this.#persistedSeq, maxSeq) : maxSeq;
    this.#persistedGen = gen;
    this.#flush();
  }

  async #writePositions(): Promise<void> {
    if (this.#ended || this.#unread) return;
    const record: PositionsRecord = { v: 1, positions: this.#positions.snapshot() };
    await this.#storage.set(this.#positionsKey, record);
  }

  /**
   * Send queued operations not yet sent on this connection — only those already persisted, so a
   * crash can never make the client reuse a `seq` the server has seen for a different operation.
   */
  #flush(): void {
    if (!this.#connected || this.#persistedGen !== this.#gen) return;
    // Start at the first item not sent yet: a long queue is not rescanned from its head each time.
    for (let seq = Math.max(this.#transmittedUpTo + 1, this.#queue.firstSeq); seq <= this.#persistedSeq; seq++) {
      const item = this.#queue.get(seq);
      if (item === undefined) break;
      // Never sendable: the server would close with 1009 (too large), or refuse a frame restored
      // from storage that is not a valid operation (corrupt or foreign data) without an ACK, and
      // every reconnect would send it again. Drop it with a coded error and renumber the tail
      // (the server processes nothing at or after a seq it refused).
      const refusal =
        this.#limits && item.bytes > this.#limits.maxPayload
          ? new ResilientSocketError('ERR_MESSAGE_TOO_LARGE', `${item.bytes} bytes > maxPayload ${this.#limits.maxPayload}`)
          : item.restored
            ? invalidStored(item)
            : undefined;
      if (refusal) {
        this.#queue.remove(item.seq);
        this.#settle(item, undefined, refusal);
        this.#gen++;
        this.#saveMain();
        return;
      }
      const frame = encoded(item);
      if (!this.#host.transmitText(frame.text, frame.bytes)) return;
      this.#transmittedUpTo = item.seq;
    }
  }
}

/**
 * How long an `ACK` may trail an `ERROR` naming the same `seq` before the connection counts as
 * broken. The server sends both back to back, so this only has to cover scheduling, not the network.
 */
const ERROR_ACK_GRACE_MS = 2_000;

/** The `MESSAGE` frame of a plain message operation (`to` absent, see `#plainMessage`). */
function messageFrame(op: Omit<MessageFrame, 'seq'>, seq: number): MessageFrame {
  return op.room === undefined ? { type: 'MESSAGE', seq, id: op.id, data: op.data } : { type: 'MESSAGE', seq, id: op.id, room: op.room, data: op.data };
}

function describe(item: QueueItem): OperationInfo {
  const op = item.op;
  switch (op.type) {
    case 'MESSAGE': {
      const info: OperationInfo = { kind: 'message', id: op.id, data: op.data, restored: item.restored };
      if (op.room !== undefined) info.room = op.room;
      if (op.to !== undefined) info.to = op.to;
      return info;
    }
    case 'JOIN_ROOM':
      return { kind: 'join', room: op.room, restored: item.restored };
    case 'LEAVE_ROOM':
      return { kind: 'leave', room: op.room, restored: item.restored };
    default:
      return { kind: 'state', scope: op.scope, data: op.event, restored: item.restored };
  }
}

function toError(code: string, message: string, details: Record<string, unknown>): ResilientSocketError {
  return isErrorCode(code)
    ? new ResilientSocketError(code, message, { details })
    : new ResilientSocketError('ERR_INTERNAL', `${code}: ${message}`, { details: { ...details, serverCode: code } });
}

function randomId(random: () => number): string {
  const uuid = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.();
  if (uuid) return uuid.replace(/-/g, '').slice(0, 16);
  let id = '';
  for (let i = 0; i < 16; i++) id += Math.floor(random() * 36).toString(36);
  return id;
}

function isMainRecord(v: unknown): v is MainRecord {
  const r = v as MainRecord | undefined;
  return typeof r === 'object' && r !== null && r.v === 1 && typeof r.clientId === 'string' && typeof r.queue === 'object' && Array.isArray(r.queue?.items) && Array.isArray(r.rooms);
}

function isPositionsRecord(v: unknown): v is PositionsRecord {
  const r = v as PositionsRecord | undefined;
  return typeof r === 'object' && r !== null && r.v === 1 && typeof r.positions === 'object' && r.positions !== null;
}

/** Why a queue item restored from storage cannot be sent (not a valid operation), or undefined. */
function invalidStored(item: QueueItem): ResilientSocketError | undefined {
  const check = validateQueuedFrame({ ...item.op, seq: item.seq });
  return check.ok ? undefined : new ResilientSocketError(check.code, `a stored operation is not valid: ${check.message}`);
}
