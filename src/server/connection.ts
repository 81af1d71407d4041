/**
 * One WebSocket connection: its session, its per-stream delivery cursors and a serial frame queue.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { encodeFrame, ERRORS } from '../protocol/index.js';
import type { ErrorCode, ErrorFrame, ErrorInfo, NewMessageFrame, Position, Positions, ServerFrame } from '../protocol/index.js';
import type { StreamEntry } from './stores/store.js';
import type { ConnectionContext } from './context.js';
import type { SharedFrame } from './rooms/shared-frame.js';
import { directSocket, foldAck, textFrameBytes } from './rooms/shared-frame.js';
import type { Corked, WriteBatch } from './rooms/write-batch.js';

/**
 * Delivery cursor of one stream on one connection. While `gated` (replay or join in progress)
 * live entries are buffered; `lastOffset` is the last offset delivered, anything at or below is
 * dropped so a replay overlapping live traffic never doubles a message.
 */
export interface Cursor {
  epoch: string | undefined;
  lastOffset: number;
  gated: boolean;
  /** Live entries arrived while gated with the buffer full (`Delivery.release` catches up). */
  overflowed: boolean;
  buffer: StreamEntry[];
}

/** The session a connection holds, as this instance knows it. @internal */
export interface LocalSession {
  id: string;
  user: string | null;
  /** Rooms with the position at which the session joined. */
  rooms: Map<string, Position>;
  /** Positions the client acknowledged. */
  positions: Positions;
  /** Whether `positions` changed since the last write. */
  positionsDirty: boolean;
  /** The session was ended (`BYE`): nothing to detach on close. */
  ended: boolean;
}

/** Counters the connection reports to metrics. @internal */
export interface ConnectionObserver {
  sent(frame: ServerFrame): void;
  /** A pre-encoded live `NEW_MESSAGE` went out. */
  delivered(): void;
  /** The connection left the handshake phase (answered or closed); called once. */
  handshakeSettled(): void;
  /** The send buffer passed `maxBufferedBytes`: the connection is being cut. */
  slowConsumer(): void;
}

/**
 * Move `cursor` to a stream entry if it is new to it; false when the cursor already passed it.
 * A new epoch (the stream's history was lost and restarted) restarts the cursor.
 */
export function advance(cursor: Cursor, entry: StreamEntry): boolean {
  if (cursor.epoch !== undefined && cursor.epoch !== entry.epoch) {
    cursor.epoch = entry.epoch;
    cursor.lastOffset = 0;
  }
  if (entry.offset <= cursor.lastOffset) return false;
  cursor.epoch = entry.epoch;
  cursor.lastOffset = entry.offset;
  return true;
}

/** A live connection. @internal */
export class Connection implements ConnectionContext, Corked {
  /** Unique within this instance. */
  readonly id: string;
  /** `<instanceId>/<connectionId>`: the session owner string stored in the store. */
  readonly owner: string;
  readonly ws: WebSocket;
  readonly request: IncomingMessage;
  phase: 'handshake' | 'open' | 'closed' = 'handshake';
  session: LocalSession | null = null;
  readonly cursors = new Map<string, Cursor>();
  /** Answered the last ws-level ping. */
  alive = true;
  handshakeTimer: NodeJS.Timeout | undefined;
  /** Pending batched write of acknowledged positions. */
  positionTimer: NodeJS.Timeout | undefined;
  /** The handshake frame arrived (later frames wait for it in the queue). */
  handshakeReceived = false;
  /** The client asked for synced state (`state` in its `HELLO` / `RECONNECT`). */
  followsState = false;
  /** The client takes its room `MESSAGE`'s `ACK` folded into its own copy (`foldAcks` in its handshake). */
  foldsAcks = false;
  /**
   * The room `MESSAGE` of this connection being stored right now, whose `ACK` may be folded
   * (set by `handleMessage` around the append; frames are processed one at a time, so one at most).
   */
  folding: { stream: string; id: string } | undefined;
  /** The sender's own live copy of `folding`, held until the append returns (see `holdOwn`). */
  private heldOwn: { frame: SharedFrame; entry: StreamEntry; batch: WriteBatch } | undefined;
  /** Frames are processed one at a time, in arrival order: `seq` must be handled in order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly observer: ConnectionObserver;
  private readonly maxBufferedBytes: number;
  private settled = false;
  private cut = false;
  /** The TCP socket pre-built frames are written to, when `ws` allows it (see `directSocket`). */
  private readonly direct: Socket | undefined;
  /** The socket is corked by a write batch (see `hold`). */
  private held = false;

  constructor(id: string, instanceId: string, ws: WebSocket, request: IncomingMessage, observer: ConnectionObserver, maxBufferedBytes: number) {
    this.id = id;
    this.owner = `${instanceId}/${id}`;
    this.ws = ws;
    this.request = request;
    this.observer = observer;
    this.maxBufferedBytes = maxBufferedBytes;
    this.direct = directSocket(ws);
  }

  /** Leave the handshake phase bookkeeping (answered or closed); idempotent. */
  settleHandshake(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.handshakeTimer);
    this.observer.handshakeSettled();
  }

  get sessionId(): string {
    return this.session?.id ?? '';
  }

  get user(): string | null {
    return this.session?.user ?? null;
  }

  get rooms(): ReadonlySet<string> {
    return new Set(this.session?.rooms.keys() ?? []);
  }

  /** The handshake completed (unless the connection closed meanwhile). */
  markOpen(): void {
    if (this.phase === 'handshake') this.phase = 'open';
    this.settleHandshake();
  }

  /** Send a frame if the socket is open; frames to a closing socket are dropped (the client recovers them). */
  send(frame: ServerFrame): void {
    if (this.heldOwn !== undefined) this.flushOwn();
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeFrame(frame));
    this.observer.sent(frame);
    this.checkBuffer();
  }

  /** Whether the send buffer is past half of `maxBufferedBytes` (see `backpressure`). */
  congested(): boolean {
    return this.ws.bufferedAmount > this.maxBufferedBytes / 2;
  }

  /**
   * Wait, during a replay, until the send buffer is down to a quarter of `maxBufferedBytes`
   * once it passed half of it: a long replay then flows at the reader's pace instead of cutting
   * it as a slow consumer. False when the connection closed or did not drain in `timeoutMs`
   * (it is then cut).
   */
  async backpressure(timeoutMs = 30_000): Promise<boolean> {
    // Held writes count in `bufferedAmount` but only wait for the batch to end: send them now.
    this.uncork();
    if (this.ws.bufferedAmount <= this.maxBufferedBytes / 2) return this.ws.readyState === this.ws.OPEN;
    const deadline = Date.now() + timeoutMs;
    while (this.ws.bufferedAmount > this.maxBufferedBytes / 4) {
      if (this.ws.readyState !== this.ws.OPEN) return false;
      if (Date.now() > deadline) {
        this.cutSlow();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.ws.readyState === this.ws.OPEN;
  }

  /**
   * Cut the connection when its send buffer passed `maxBufferedBytes`. Held writes (see `hold`)
   * have not been offered to the socket yet: they are flushed first, and the connection is cut
   * only if the socket could not take them.
   */
  private checkBuffer(): void {
    if (this.ws.bufferedAmount <= this.maxBufferedBytes) return;
    if (this.held) this.uncork();
    else this.cutSlow();
  }

  /**
   * Hold this connection's writes until `batch` ends (once the work of the current callback is
   * done), so they leave in one system call. No-op when already held or when frames go through `ws`.
   */
  hold(batch: WriteBatch): void {
    if (this.held || this.direct === undefined) return;
    this.held = true;
    batch.hold(this.direct, this);
  }

  /** Flush held writes (called by the batch, or before waiting for the buffer to drain). */
  uncork(): void {
    if (!this.held) return;
    this.held = false;
    this.direct!.uncork();
    this.checkBuffer();
  }

  /**
   * Send a live frame shared by every recipient of a fan-out: its pre-built bytes go straight to
   * the socket, held until `batch` ends.
   */
  sendShared(frame: SharedFrame, batch: WriteBatch): void {
    if (this.heldOwn !== undefined) this.flushOwn();
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.direct === undefined) this.ws.send(frame.text);
    else {
      this.hold(batch);
      this.direct.write(frame.bytes);
    }
    this.observer.delivered();
    this.checkBuffer();
  }

  /**
   * Hold the sender's own live copy of the message it is storing (`folding`): it goes out with
   * the `ACK` folded in once the append returns (`sendOwn`), or as it is the moment any other
   * frame must go to this connection first, so nothing overtakes it and the `ACK` is never later
   * than a separate one would be. The cursor has already moved past it.
   */
  holdOwn(frame: SharedFrame, entry: StreamEntry, batch: WriteBatch): void {
    if (this.heldOwn !== undefined) this.flushOwn();
    this.heldOwn = { frame, entry, batch };
  }

  /** Send a held own copy as it is (its `ACK` then goes separately). */
  flushOwn(): void {
    const held = this.heldOwn;
    if (held === undefined) return;
    this.heldOwn = undefined;
    this.sendShared(held.frame, held.batch);
  }

  /**
   * `entry` was just stored by this connection's room `MESSAGE` `seq`: send this connection its
   * copy with `ack` folded in, if it can go out live and at once — held by the fan-out (the
   * in-memory store fans out before the append returns), or not delivered yet and exactly the
   * next offset this connection is due (a store whose fan-out comes later, as Redis pub/sub
   * does; that copy is dropped then, the cursor being past it). False when the separate `ACK`
   * must be sent instead (gated cursor, already delivered as it is, a gap before it).
   */
  sendOwn(entry: StreamEntry, seq: number, batch: WriteBatch, frameOf: (entry: StreamEntry) => SharedFrame): boolean {
    const held = this.heldOwn;
    let frame: SharedFrame | undefined;
    if (held !== undefined) {
      this.heldOwn = undefined;
      if (held.entry.offset === entry.offset && held.entry.epoch === entry.epoch && held.entry.stream === entry.stream) frame = held.frame;
      // Not this append's entry (an older message with the same id, late from pub/sub): as it is.
      else this.sendShared(held.frame, held.batch);
    }
    if (frame === undefined) {
      const cursor = this.cursors.get(entry.stream);
      if (cursor === undefined || cursor.gated || cursor.epoch !== entry.epoch || cursor.lastOffset !== entry.offset - 1) return false;
      cursor.lastOffset = entry.offset;
      frame = frameOf(entry);
    }
    if (this.ws.readyState !== this.ws.OPEN) return true;
    const text = foldAck(frame.text, seq);
    if (this.direct === undefined) this.ws.send(text);
    else {
      this.hold(batch);
      this.direct.write(textFrameBytes(text));
    }
    this.observer.delivered();
    this.checkBuffer();
    return true;
  }

  /**
   * Cut a connection whose peer does not read: its send buffer would otherwise grow without
   * bound. It loses nothing: what it missed is replayed when it resumes.
   */
  private cutSlow(): void {
    if (this.cut) return;
    this.cut = true;
    this.observer.slowConsumer();
    this.close(4004, 'ERR_SLOW_CONSUMER');
    // The close frame waits behind the unread buffer: do not wait for the peer.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  /** Send an `ERROR` frame. */
  sendError(code: ErrorCode, message: string, extra?: Omit<Partial<ErrorFrame>, 'type' | 'code' | 'message'>): void {
    this.send({ type: 'ERROR', code, message, ...extra });
  }

  /** Send a fatal `ERROR` and close with the code's close code (or `closeCode`). */
  fail(code: ErrorCode, message: string, closeCode?: number): void {
    this.sendError(code, message, { fatal: true });
    const info: ErrorInfo = ERRORS[code];
    this.close(closeCode ?? info.closeCode ?? 1011, code);
  }

  /** Close the connection; idempotent. */
  close(code: number, reason = ''): void {
    this.flushOwn();
    if (this.ws.readyState === this.ws.CLOSED || this.ws.readyState === this.ws.CLOSING) return;
    this.ws.close(code, reason.slice(0, 120));
  }

  /** Run `task` after every frame queued before it. Errors are the task's to handle. */
  enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Resolves once every queued task (including the cleanup queued on close) has run. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Deliver a stream entry (live or replayed) unless it is at or below the cursor. */
  deliver(entry: StreamEntry, replay: boolean): boolean {
    const cursor = this.cursors.get(entry.stream);
    if (!cursor || !advance(cursor, entry)) return false;
    this.send(toFrame(entry, replay));
    return true;
  }

  /** Open the gate of a stream: deliver buffered live entries above the cursor, in order. */
  release(stream: string): void {
    const cursor = this.cursors.get(stream);
    if (!cursor || !cursor.gated) return;
    cursor.gated = false;
    const buffered = cursor.buffer.sort((a, b) => a.offset - b.offset);
    cursor.buffer = [];
    for (const entry of buffered) this.deliver(entry, false);
  }
}

/** The `NEW_MESSAGE` frame of a stored entry. */
export function toFrame(entry: StreamEntry, replay: boolean): NewMessageFrame {
  const frame: NewMessageFrame = {
    type: 'NEW_MESSAGE',
    stream: entry.stream,
    epoch: entry.epoch,
    offset: entry.offset,
    from: entry.from,
    user: entry.user,
    id: entry.id,
    data: entry.data,
    ts: entry.ts,
  };
  if (entry.stream.startsWith('room:')) frame.room = entry.stream.slice(5);
  if (replay) frame.replay = true;
  return frame;
}
