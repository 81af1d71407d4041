/**
 * The offline queue: every operation that changes something on the server (a message, a join,
 * a leave, a state event) gets a `seq` and stays here until the server acknowledges it. Pure
 * logic, no sockets and no timers, so the ordering and settlement rules are tested directly.
 */
import { ResilientSocketError } from '../protocol/errors.js';
import type { JoinRoomFrame, LeaveRoomFrame, MessageFrame, StateEventFrame } from '../protocol/frames.js';

type WithoutSeq<F> = F extends unknown ? Omit<F, 'seq'> : never;

/** A sequenced client frame before it is numbered. */
export type Operation = WithoutSeq<MessageFrame | JoinRoomFrame | LeaveRoomFrame | StateEventFrame>;

/** One queued operation. */
export interface QueueItem {
  /** Stable local identity: unlike `seq`, it survives a renumbering. */
  readonly key: number;
  /** Current sequence number within the current session. */
  seq: number;
  readonly op: Operation;
  /** Encoded size of the frame (UTF-8 bytes), counted against `maxBytes`. */
  readonly bytes: number;
  /** Loaded from storage (queued by an earlier instance, whose promise is gone). */
  readonly restored: boolean;
}

/** What is persisted. */
export interface QueueSnapshot {
  nextSeq: number;
  nextKey: number;
  lastAckedSeq: number;
  items: Array<{ key: number; seq: number; op: Operation; bytes: number }>;
}

/** Bounds of the queue. */
export interface OfflineQueueLimits {
  /** Max queued operations. */
  maxLength: number;
  /** Max total encoded bytes. */
  maxBytes: number;
}

/** The queue. Items are always kept in `seq` order, and `seq` values are consecutive. */
export class OfflineQueue {
  readonly #limits: OfflineQueueLimits;
  #items: QueueItem[] = [];
  #bytes = 0;
  #nextSeq = 1;
  #nextKey = 1;
  #lastAckedSeq = 0;

  constructor(limits: OfflineQueueLimits, snapshot?: QueueSnapshot) {
    this.#limits = limits;
    if (snapshot) {
      // Never trust a stored snapshot blindly: keep only items that continue the sequence.
      const items = [...snapshot.items].sort((a, b) => a.seq - b.seq);
      let expected = items[0]?.seq ?? snapshot.nextSeq;
      for (const raw of items) {
        if (raw.seq !== expected) break;
        this.#items.push({ key: raw.key, seq: raw.seq, op: raw.op, bytes: raw.bytes, restored: true });
        this.#bytes += raw.bytes;
        expected++;
      }
      this.#nextSeq = Math.max(expected, snapshot.nextSeq);
      this.#nextKey = Math.max(snapshot.nextKey, ...this.#items.map((i) => i.key + 1));
      this.#lastAckedSeq = snapshot.lastAckedSeq;
    }
  }

  /** Number of queued operations. */
  get length(): number {
    return this.#items.length;
  }

  /** Total encoded bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The highest `seq` acknowledged in the current session. */
  get lastAckedSeq(): number {
    return this.#lastAckedSeq;
  }

  /** The `seq` the next operation will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** The queued items in `seq` order (read-only view). */
  items(): readonly QueueItem[] {
    return this.#items;
  }

  /** The item with this `seq`, if queued. */
  get(seq: number): QueueItem | undefined {
    const first = this.#items[0];
    return first === undefined ? undefined : this.#items[seq - first.seq];
  }

  /**
   * Append an operation. Throws `ERR_QUEUE_FULL` when it would pass `maxLength` or `maxBytes`
   * (unless `force`: re-joins after a new session must never be refused).
   */
  push(op: Operation, bytes: number, force = false): QueueItem {
    if (!force && (this.#items.length + 1 > this.#limits.maxLength || this.#bytes + bytes > this.#limits.maxBytes)) {
      throw new ResilientSocketError(
        'ERR_QUEUE_FULL',
        `offline queue full (${this.#items.length}/${this.#limits.maxLength} operations, ${this.#bytes}+${bytes}/${this.#limits.maxBytes} bytes)`,
        { details: { length: this.#items.length, bytes: this.#bytes, maxLength: this.#limits.maxLength, maxBytes: this.#limits.maxBytes } },
      );
    }
    const item: QueueItem = { key: this.#nextKey++, seq: this.#nextSeq++, op, bytes, restored: false };
    this.#items.push(item);
    this.#bytes += bytes;
    return item;
  }

  /**
   * Cumulative acknowledgement: removes and returns every item with `seq <= upTo`, in order.
   * An ack at or below what is already acknowledged returns nothing (a duplicate ack).
   */
  ack(upTo: number): QueueItem[] {
    if (upTo > this.#lastAckedSeq) this.#lastAckedSeq = Math.min(upTo, this.#nextSeq - 1);
    let n = 0;
    while (n < this.#items.length && this.#items[n]!.seq <= upTo) n++;
    const settled = this.#items.splice(0, n);
    for (const item of settled) this.#bytes -= item.bytes;
    return settled;
  }

  /**
   * The server says it processed everything up to `lastSeq` (`STATE_RECOVERED`): settle those
   * and make sure new operations are numbered after it, even if this client's own numbering fell
   * behind (storage restored from an older copy): reusing a processed `seq` would make the
   * server drop a new operation as a duplicate.
   */
  settleUpTo(lastSeq: number): QueueItem[] {
    const settled = this.ack(lastSeq);
    const first = this.#items[0];
    if (lastSeq >= this.#nextSeq) {
      let seq = lastSeq + 1;
      for (const item of this.#items) item.seq = seq++;
      this.#nextSeq = seq;
      this.#lastAckedSeq = lastSeq;
    } else if (first !== undefined && first.seq !== lastSeq + 1) {
      // Cannot happen with consecutive numbering; kept honest rather than assumed.
      let seq = lastSeq + 1;
      for (const item of this.#items) item.seq = seq++;
      this.#nextSeq = seq;
    }
    return settled;
  }

  /**
   * A new session: numbering starts again at 1. `prefix` operations (re-joins of the rooms the
   * old session was in) go first, so the queued operations that need those rooms follow them.
   * Returns the new prefix items.
   */
  renumber(prefix: Array<{ op: Operation; bytes: number }> = []): QueueItem[] {
    const head: QueueItem[] = prefix.map((p) => ({ key: this.#nextKey++, seq: 0, op: p.op, bytes: p.bytes, restored: false }));
    this.#items = [...head, ...this.#items];
    this.#bytes += head.reduce((sum, i) => sum + i.bytes, 0);
    let seq = 1;
    for (const item of this.#items) item.seq = seq++;
    this.#nextSeq = seq;
    this.#lastAckedSeq = 0;
    return head;
  }

  /**
   * Remove an unacknowledged item that the server never processed (too large for the server's
   * limit) and close the gap: later items move down by one, keeping `seq` consecutive. Only
   * valid while none of the later items has been processed by the server, which holds because
   * the server processes `seq` strictly in order.
   */
  remove(seq: number): QueueItem | undefined {
    const index = this.#items.findIndex((i) => i.seq === seq);
    if (index < 0) return undefined;
    const [removed] = this.#items.splice(index, 1);
    this.#bytes -= removed!.bytes;
    for (let i = index; i < this.#items.length; i++) this.#items[i]!.seq--;
    this.#nextSeq--;
    return removed;
  }

  /** Remove everything (the session ended for good); returns what was queued. */
  clear(): QueueItem[] {
    const all = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return all;
  }

  /** A JSON-serialisable copy for storage. */
  snapshot(): QueueSnapshot {
    return {
      nextSeq: this.#nextSeq,
      nextKey: this.#nextKey,
      lastAckedSeq: this.#lastAckedSeq,
      items: this.#items.map((i) => ({ key: i.key, seq: i.seq, op: i.op, bytes: i.bytes })),
    };
  }
}
