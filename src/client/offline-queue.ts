/**
 * The offline queue: every operation that changes something on the server (a message, a join,
 * a leave, a state event) gets a `seq` and stays here until the server acknowledges it. Pure
 * logic, no sockets and no timers, so the ordering and settlement rules are tested directly.
 */
import { encodeFrame, utf8Length } from '../protocol/encoding.js';
import { checkQueueRoom } from './queue-full.js';
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
  /**
   * The frame as encoded at enqueue time, valid while `seq` equals the `seq` it was encoded with
   * (a renumbering makes it stale): the hot path encodes each operation once.
   */
  encoded?: { seq: number; text: string; bytes: number };
}

/**
 * What is persisted. Each item is its frame's JSON text (with its `seq`): a store copies one
 * string per item instead of walking every payload (a structured clone of the objects cost ten
 * times more). Snapshots written by earlier builds hold `{ key, seq, op, bytes }` objects; both load.
 */
export interface QueueSnapshot {
  nextSeq: number;
  nextKey: number;
  lastAckedSeq: number;
  items: Array<string | { key: number; seq: number; op: Operation; bytes: number }>;
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
  /** Items from index `#head` on; acknowledged ones before it are dropped lazily. */
  #items: QueueItem[] = [];
  #head = 0;
  #bytes = 0;
  #nextSeq = 1;
  #nextKey = 1;
  #lastAckedSeq = 0;

  constructor(limits: OfflineQueueLimits, snapshot?: QueueSnapshot) {
    this.#limits = limits;
    if (snapshot) {
      // Never trust a stored snapshot blindly: keep only items that continue the sequence.
      const items: QueueItem[] = [];
      for (const raw of snapshot.items) {
        const item = restore(raw, snapshot.nextKey + items.length);
        if (typeof item?.seq === 'number') items.push(item);
      }
      items.sort((a, b) => a.seq - b.seq);
      let expected = items[0]?.seq ?? snapshot.nextSeq;
      for (const item of items) {
        if (item.seq !== expected) break;
        this.#items.push(item);
        this.#bytes += item.bytes;
        expected++;
      }
      this.#nextSeq = Math.max(expected, snapshot.nextSeq);
      this.#nextKey = this.#items.reduce((max, i) => Math.max(max, i.key + 1), snapshot.nextKey);
      this.#lastAckedSeq = snapshot.lastAckedSeq;
    }
  }

  /** Number of queued operations. */
  get length(): number {
    return this.#items.length - this.#head;
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
    this.#compact();
    return this.#items;
  }

  /** The item with this `seq`, if queued. */
  get(seq: number): QueueItem | undefined {
    const first = this.#items[this.#head];
    if (first === undefined || seq < first.seq) return undefined;
    return this.#items[this.#head + seq - first.seq];
  }

  /** The `seq` of the first queued item (0 when empty). */
  get firstSeq(): number {
    return this.#items.length > this.#head ? this.#items[this.#head]!.seq : 0;
  }

  /** The `seq` of the last queued item (0 when empty). */
  get lastSeq(): number {
    return this.#items.length > this.#head ? this.#items[this.#items.length - 1]!.seq : 0;
  }

  /** Drop acknowledged items still held before `#head` (O(n); done where O(n) work happens anyway). */
  #compact(): void {
    if (this.#head === 0) return;
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }

  /**
   * Append an operation. Throws `ERR_QUEUE_FULL` when it would pass `maxLength` or `maxBytes`
   * (unless `force`: re-joins after a new session must never be refused).
   */
  push(op: Operation, bytes: number, force = false, text?: string): QueueItem {
    if (!force) checkQueueRoom(this.length, this.#bytes, bytes, this.#limits);
    const seq = this.#nextSeq++;
    const item: QueueItem = { key: this.#nextKey++, seq, op, bytes, restored: false };
    if (text !== undefined) item.encoded = { seq, text, bytes };
    this.#items.push(item);
    this.#bytes += bytes;
    return item;
  }

  /**
   * `ack(upTo)` when `upTo` is the first queued item's `seq` (an ack in step with the sends, the
   * usual case): removes and returns that one item without an array. Undefined otherwise (then
   * call `ack`).
   */
  ackFirst(upTo: number): QueueItem | undefined {
    const first = this.#items[this.#head];
    if (first === undefined || first.seq !== upTo) return undefined;
    this.#dropUpTo(upTo, this.#head + 1);
    return first;
  }

  /**
   * Cumulative acknowledgement: removes and returns every item with `seq <= upTo`, in order.
   * An ack at or below what is already acknowledged returns nothing (a duplicate ack).
   */
  ack(upTo: number): QueueItem[] {
    // Advance a head index rather than splice: acks arrive one by one, and splicing the front of
    // a long queue each time would be quadratic.
    const start = this.#head;
    let end = start;
    while (end < this.#items.length && this.#items[end]!.seq <= upTo) end++;
    const settled = end === start ? [] : this.#items.slice(start, end);
    this.#dropUpTo(upTo, end);
    return settled;
  }

  /** Acknowledge up to `upTo`, whose items end before index `end`. */
  #dropUpTo(upTo: number, end: number): void {
    if (upTo > this.#lastAckedSeq) this.#lastAckedSeq = Math.min(upTo, this.#nextSeq - 1);
    if (end === this.#head) return;
    for (let i = this.#head; i < end; i++) this.#bytes -= this.#items[i]!.bytes;
    this.#head = end;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#compact();
    }
  }

  /**
   * The server says it processed everything up to `lastSeq` (`STATE_RECOVERED`): settle those
   * and make sure new operations are numbered after it, even if this client's own numbering fell
   * behind (storage restored from an older copy): reusing a processed `seq` would make the
   * server drop a new operation as a duplicate.
   */
  settleUpTo(lastSeq: number): QueueItem[] {
    const settled = this.ack(lastSeq);
    this.#compact();
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
    this.#compact();
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
    this.#compact();
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
    this.#compact();
    const all = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return all;
  }

  /** A JSON-serialisable copy for storage. */
  snapshot(): QueueSnapshot {
    this.#compact();
    return {
      nextSeq: this.#nextSeq,
      nextKey: this.#nextKey,
      lastAckedSeq: this.#lastAckedSeq,
      items: this.#items.map((i) => encoded(i).text),
    };
  }
}

/**
 * The item's frame as sent: encoded at enqueue time, again only after a renumbering — then from
 * the text encoded before, not from `op` (the application's payload object, which it may have
 * changed since `send()`): what the server gets is what was sent, whatever its `seq`. @internal
 */
export function encoded(item: QueueItem): { seq: number; text: string; bytes: number } {
  if (item.encoded?.seq !== item.seq) {
    const frame = item.encoded ? { ...(JSON.parse(item.encoded.text) as MessageFrame), seq: item.seq } : { ...item.op, seq: item.seq };
    const text = encodeFrame(frame as MessageFrame);
    item.encoded = { seq: item.seq, text, bytes: utf8Length(text) };
  }
  return item.encoded;
}

/** A stored item (frame text, or an object of an older snapshot); undefined when unreadable. */
function restore(raw: string | { key: number; seq: number; op: Operation; bytes: number }, key: number): QueueItem | undefined {
  if (typeof raw !== 'string') return { ...raw, restored: true };
  try {
    const { seq, ...op } = JSON.parse(raw) as MessageFrame;
    const bytes = utf8Length(raw);
    return { key, seq, op, bytes, restored: true, encoded: { seq, text: raw, bytes } };
  } catch {
    return undefined; // not JSON, or null
  }
}
