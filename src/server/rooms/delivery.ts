/**
 * Live fan-out and gated replay. One store subscription per stream that any local connection
 * watches; entries go to every watching connection (the sender included). Replays subscribe
 * before reading history and buffer live entries until the replay is done, so a message
 * published during the replay is delivered once, after it.
 */
import { encodeFrame } from '../../protocol/index.js';
import type { EntryListener, StreamEntry, StreamInfo, Store } from '../stores/store.js';
import type { Connection, Cursor } from '../connection.js';
import { advance, toFrame } from '../connection.js';
import { SharedFrame } from './shared-frame.js';
import { WriteBatch } from './write-batch.js';

interface Subscription {
  listener: EntryListener;
  /** Watching connections, each with its cursor of this stream. */
  members: Map<Connection, Cursor>;
  ready: Promise<void>;
}

/** Result of a replay. */
export interface ReplayResult {
  /** Messages sent. */
  replayed: number;
  /** First offset history no longer holds, when the replay hit a hole. */
  gapFrom?: number;
}

/** Entries read per store call during a replay. */
const REPLAY_BATCH = 200;

/**
 * Live entries one gated cursor buffers while its stream replays. Past it the cursor only notes
 * the overflow and `release` reads the rest from the store (every entry is stored before it is
 * published), so a long replay of a busy stream holds at most this many per connection.
 */
export const GATE_BUFFER = 1000;

/** Replayed frames kept for the next connection replaying the same entries (a reconnect storm). */
const REPLAY_FRAMES = 1024;
/**
 * ...and at most this many characters of frame text in all: with 1 MiB messages 1,024 frames
 * would hold gigabytes (each frame keeps its text and its bytes).
 */
const REPLAY_FRAME_CHARS = 4 * 1024 * 1024;

/** Fan-out and replay for one server instance. @internal */
export class Delivery {
  private readonly subscriptions = new Map<string, Subscription>();
  /** Coalesces the writes of this instance's fan-outs and replays (see `WriteBatch`). */
  private readonly batch = new WriteBatch();
  /**
   * Replayed `NEW_MESSAGE` frames by stream, epoch and offset (which name one entry for good),
   * so the sessions of a room resuming together encode and frame each missed entry once.
   * Bounded: the oldest frame goes first.
   */
  private readonly replayFrames = new Map<string, SharedFrame>();
  /** Characters of frame text held by `replayFrames`. */
  private replayChars = 0;

  constructor(private readonly store: Store) {}

  /**
   * Start watching `stream` on `conn` with a gated cursor at `lastOffset`. Resolves once the store
   * subscription is active, so a history read made afterwards cannot miss a live entry.
   */
  async watch(conn: Connection, stream: string, epoch: string | undefined, lastOffset: number): Promise<void> {
    let cursor = conn.cursors.get(stream);
    if (cursor) {
      cursor.gated = true;
      cursor.overflowed = false;
      cursor.epoch = epoch;
      cursor.lastOffset = lastOffset;
    } else {
      cursor = { epoch, lastOffset, gated: true, overflowed: false, buffer: [] };
      conn.cursors.set(stream, cursor);
    }
    let sub = this.subscriptions.get(stream);
    if (!sub) {
      const members = new Map<Connection, Cursor>();
      const listener: EntryListener = (entry) => this.fanOut(members, entry);
      const created: Subscription = { listener, members, ready: Promise.resolve() };
      created.ready = this.store.subscribe(stream, listener).catch((err: unknown) => {
        // Forget the failed subscription so the next watcher tries again.
        if (this.subscriptions.get(stream) === created) this.subscriptions.delete(stream);
        throw err;
      });
      this.subscriptions.set(stream, created);
      sub = created;
    }
    sub.members.set(conn, cursor);
    try {
      await sub.ready;
    } catch (err) {
      sub.members.delete(conn);
      conn.cursors.delete(stream);
      throw err;
    }
  }

  /** Stop watching `stream` on `conn`; the store subscription ends with its last watcher. */
  async unwatch(conn: Connection, stream: string): Promise<void> {
    conn.cursors.delete(stream);
    const sub = this.subscriptions.get(stream);
    if (!sub || !sub.members.delete(conn) || sub.members.size > 0) return;
    this.subscriptions.delete(stream);
    await sub.ready.catch(() => {});
    await this.store.unsubscribe(stream, sub.listener);
  }

  /** Stop every stream of a closing connection. Never rejects. */
  async unwatchAll(conn: Connection): Promise<void> {
    await Promise.all([...conn.cursors.keys()].map((s) => this.unwatch(conn, s).catch(() => {})));
  }

  /** Streams with an active subscription (for tests and metrics). */
  get streamCount(): number {
    return this.subscriptions.size;
  }

  /**
   * Send every retained entry of `stream` after the cursor, up to `upTo` (default: everything),
   * as replayed `NEW_MESSAGE`s. At a hole in history (trimmed since the caller looked) it reports
   * where the hole starts and goes on with what history still holds, so nothing retained waits
   * for a `RESYNC`. With `resend`, entries go out even at or below the cursor (answering `RESYNC`).
   * `known`: the stream's bounds as the caller read them after watching it (see `Store.read`).
   */
  async replay(conn: Connection, stream: string, afterOffset: number, upTo = Number.MAX_SAFE_INTEGER, resend = false, known?: StreamInfo): Promise<ReplayResult> {
    let after = afterOffset;
    let replayed = 0;
    let gapFrom: number | undefined;
    const done = (): ReplayResult => (gapFrom === undefined ? { replayed } : { replayed, gapFrom });
    for (;;) {
      // A connection closed meanwhile (taken over, cut) recovers elsewhere: stop reading for it.
      if (conn.ws.readyState !== conn.ws.OPEN) return done();
      const { info, entries } = await this.store.read(stream, after, REPLAY_BATCH, known);
      known = undefined;
      const first = entries[0];
      if (after < info.lastOffset && (first === undefined ? info.firstOffset > after + 1 : first.offset > after + 1)) {
        gapFrom ??= after + 1;
        if (first === undefined) {
          // Trimmed past this read's start: read again from what history holds.
          after = info.firstOffset - 1;
          continue;
        }
      }
      for (const entry of entries) {
        if (entry.offset > upTo) return done();
        // Pace the replay to the reader; a connection that closed meanwhile recovers later.
        if (conn.congested() && !(await conn.backpressure())) return done();
        // The frames of this read leave together once it is sent (see `WriteBatch`).
        conn.hold(this.batch);
        // A RESYNC re-sends below the cursor (the client saw a hole); a replay moves the cursor.
        if (resend) {
          conn.send(toFrame(entry, true));
          replayed++;
        } else {
          const cursor = conn.cursors.get(stream);
          if (cursor && advance(cursor, entry)) {
            conn.sendShared(this.replayFrame(entry), this.batch);
            replayed++;
          }
        }
        after = entry.offset;
      }
      if (entries.length < REPLAY_BATCH || after >= info.lastOffset) return done();
    }
  }

  /** Hold `conn`'s writes until this batch ends, so what is sent before a replay leaves with it. */
  hold(conn: Connection): void {
    conn.hold(this.batch);
  }

  /**
   * Open the gate of `stream` on `conn`. When live entries overflowed the gate's buffer meanwhile
   * (`GATE_BUFFER`), first replay from the cursor what the buffer dropped — it is all in the
   * store — until a read has caught up with a buffer that held everything since; then the
   * buffered entries go out in order. Every pass moves the cursor forward, and a reader too slow
   * to keep up is cut by the send-buffer limit like any slow consumer. Resolves with the number
   * of entries the catch-up replayed.
   */
  async release(conn: Connection, stream: string): Promise<number> {
    let replayed = 0;
    const cursor = conn.cursors.get(stream);
    while (cursor !== undefined && cursor.gated && cursor.overflowed && conn.ws.readyState === conn.ws.OPEN) {
      cursor.overflowed = false;
      cursor.buffer = [];
      const result = await this.replay(conn, stream, cursor.lastOffset);
      replayed += result.replayed;
      if (result.gapFrom !== undefined) conn.sendError('ERR_HISTORY_GAP', `history of ${stream} no longer covers offset ${result.gapFrom}`, { stream });
    }
    conn.release(stream);
    return replayed;
  }

  private replayFrame(entry: StreamEntry): SharedFrame {
    const key = `${entry.stream}\n${entry.epoch}\n${entry.offset}`;
    let frame = this.replayFrames.get(key);
    if (frame === undefined) {
      frame = new SharedFrame(() => encodeFrame(toFrame(entry, true)));
      // Encoded now to know its size; the caller sends it at once anyway.
      const chars = frame.text.length;
      // A frame larger than the whole budget is not kept; otherwise the oldest go first.
      if (chars <= REPLAY_FRAME_CHARS) {
        for (const [oldKey, old] of this.replayFrames) {
          if (this.replayFrames.size < REPLAY_FRAMES && this.replayChars + chars <= REPLAY_FRAME_CHARS) break;
          this.replayFrames.delete(oldKey);
          this.replayChars -= old.text.length;
        }
        this.replayFrames.set(key, frame);
        this.replayChars += chars;
      }
    }
    return frame;
  }

  /**
   * A live entry: buffered by the cursors whose stream is gated, sent to the others unless their
   * cursor already passed it. The frame is encoded and framed once, for every recipient.
   */
  private fanOut(members: Map<Connection, Cursor>, entry: StreamEntry): void {
    const own = this.ownFrame;
    let frame: SharedFrame;
    if (own !== undefined && own.entry.offset === entry.offset && own.entry.stream === entry.stream && own.entry.epoch === entry.epoch) {
      frame = own.frame;
      this.ownFrame = undefined;
    } else frame = new SharedFrame(() => encodeFrame(toFrame(entry, false)));
    for (const [conn, cursor] of members) {
      if (cursor.gated) {
        if (cursor.buffer.length < GATE_BUFFER) cursor.buffer.push(entry);
        else cursor.overflowed = true;
      } else if (advance(cursor, entry)) {
        // The sender's own copy of the message it is storing: held for its folded ACK.
        const folding = conn.folding;
        if (folding !== undefined && folding.id === entry.id && folding.stream === entry.stream && entry.from === conn.sessionId) conn.holdOwn(frame, entry, this.batch);
        else conn.sendShared(frame, this.batch);
      }
    }
  }

  /**
   * Send `conn` its copy of `entry`, just stored by its `MESSAGE` `seq`, with the `ACK` folded
   * in, when that copy can go out live and at once (see `Connection.sendOwn`); false when the
   * separate `ACK` is due instead.
   */
  sendOwn(conn: Connection, entry: StreamEntry, seq: number): boolean {
    return conn.sendOwn(entry, seq, this.batch, this.ownFrameOf);
  }

  /**
   * The frame of a sender's own copy sent before the fan-out (a store whose fan-out comes after
   * the append returns, as Redis pub/sub does): kept so that the fan-out which follows reuses
   * its text and bytes for the other members instead of encoding the entry again. One slot: a
   * copy whose fan-out does not come next is simply encoded again.
   */
  private ownFrame: { entry: StreamEntry; frame: SharedFrame } | undefined;

  private readonly ownFrameOf = (entry: StreamEntry): SharedFrame => {
    const frame = new SharedFrame(() => encodeFrame(toFrame(entry, false)));
    this.ownFrame = { entry, frame };
    return frame;
  };
}
