/**
 * Live delivery of one stream's entries on one instance, for the Redis store.
 */
import type { EntryListener, StreamEntry, StreamInfo } from './store.js';

/** Reads entries after an offset (the store's `read`). */
export type FeedReader = (afterOffset: number, limit: number) => Promise<{ info: StreamInfo; entries: StreamEntry[] }>;

const FILL_BATCH = 500;

/**
 * Delivers a stream's live entries to this instance's listeners in offset order, exactly once,
 * and fills holes from history.
 *
 * Pub/sub is at most once: while the subscriber connection is down, PUBLISHed entries are lost
 * for this instance. So the feed remembers the last offset it delivered and, when an entry
 * arrives past a hole or the connection comes back (`resync`), reads the missing entries from
 * the stream and delivers them first; entries arriving meanwhile wait in a buffer. Entries at
 * or below the last delivered offset (a fill overlapping pub/sub) are dropped. When history no
 * longer covers the hole (trimmed), listeners see the jump, exactly as a client would. When the
 * stream was recreated meanwhile (a new epoch, e.g. after a Redis restart), the fill reads the
 * new epoch from its start, and a live entry of a new epoch past offset 1 waits for that fill;
 * what waited of the epoch being left goes out before it, and nothing of that epoch after it.
 *
 * @internal
 */
export class StreamFeed {
  readonly listeners = new Set<EntryListener>();
  readonly #read: FeedReader;
  readonly #onListenerError: (error: unknown) => void;
  #epoch: string | undefined;
  /** Last offset delivered in `#epoch`. */
  #last: number | undefined;
  /** Latest offset when the subscription began: the fill point until something is delivered. */
  #floor: number | undefined;
  #filling = false;
  #buffer: StreamEntry[] = [];
  /**
   * Epochs this feed has moved past. Epochs are never reused (a new one is drawn when a stream is
   * recreated), so an entry of one of them is a late copy from before the restart: delivering it
   * would take listeners back to the old epoch and, on the next entry, forward again.
   */
  readonly #retired = new Set<string>();

  constructor(read: FeedReader, onListenerError: (error: unknown) => void) {
    this.#read = read;
    this.#onListenerError = onListenerError;
  }

  /**
   * Records the stream's bounds right after subscribing. Entries arriving later with offsets at
   * or below it are still delivered (they were published after the subscription); it only tells
   * a later fill where to start.
   */
  setFloor(info: StreamInfo): void {
    if (this.#epoch === undefined) {
      this.#epoch = info.epoch;
      this.#floor = info.lastOffset;
    }
  }

  /** An entry from pub/sub. */
  push(entry: StreamEntry): void {
    if (this.#filling) {
      this.#buffer.push(entry);
      return;
    }
    this.#accept(entry);
  }

  /** Fills whatever was published while pub/sub was down. */
  resync(): void {
    if (this.#filling) return;
    this.#fill();
  }

  #accept(entry: StreamEntry): void {
    if (this.#retired.has(entry.epoch)) return;
    if (entry.epoch === this.#epoch) {
      if (this.#last !== undefined && entry.offset <= this.#last) return;
      const known = this.#last ?? this.#floor;
      if (known !== undefined && entry.offset > known + 1) {
        this.#buffer.push(entry);
        this.#fill();
        return;
      }
    } else if (this.#epoch !== undefined && entry.offset > 1) {
      // The stream was recreated (a new epoch) and pub/sub missed its first entries (its
      // connection was down meanwhile, as in a Redis restart): fill them from the start first,
      // so listeners see the new epoch from offset 1, not from wherever pub/sub came back.
      this.#buffer.push(entry);
      this.#fill();
      return;
    }
    this.#deliver(entry);
  }

  #deliver(entry: StreamEntry): void {
    if (this.#epoch !== undefined && entry.epoch !== this.#epoch) this.#retired.add(this.#epoch);
    this.#epoch = entry.epoch;
    this.#last = entry.offset;
    for (const listener of [...this.listeners]) {
      try {
        listener(entry);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  #fill(): void {
    const from = this.#last ?? this.#floor;
    if (from === undefined || this.#epoch === undefined) {
      this.#flush();
      return;
    }
    this.#filling = true;
    void this.#fillFrom(from, this.#epoch).then(
      () => this.#flush(),
      () => {
        // History unreachable: deliver what waited (listeners see the hole, as a client would,
        // and ask for it); the next reconnect fills again.
        this.#flush();
      },
    );
  }

  async #fillFrom(from: number, epoch: string): Promise<void> {
    let after = from;
    for (let round = 0; round < 1000; round++) {
      const { info, entries } = await this.#read(after, FILL_BATCH);
      if (this.listeners.size === 0) return;
      if (info.epoch !== epoch) {
        // The stream now holds a new epoch: its entries past `after` are not the ones after our
        // last; read the new epoch from its start instead. What pub/sub brought of the epoch
        // being left goes first (its history is gone; the hole before it stays a hole).
        this.#deliverWaiting(epoch);
        epoch = info.epoch;
        after = 0;
        continue;
      }
      for (const entry of entries) {
        if (this.#last === undefined || entry.offset > this.#last || entry.epoch !== this.#epoch) this.#deliver(entry);
      }
      const last = entries.at(-1);
      if (last === undefined || entries.length < FILL_BATCH) return;
      after = last.offset;
    }
  }

  /** Deliver (in offset order) and take out of the buffer the waiting entries of `epoch` past the last delivered. */
  #deliverWaiting(epoch: string): void {
    const waiting = this.#buffer.filter((entry) => entry.epoch === epoch).sort((a, b) => a.offset - b.offset);
    if (waiting.length === 0) return;
    this.#buffer = this.#buffer.filter((entry) => entry.epoch !== epoch);
    for (const entry of waiting) {
      if (this.#epoch !== epoch || this.#last === undefined || entry.offset > this.#last) this.#deliver(entry);
    }
  }

  /** After a fill: what waited is delivered in order, holes or not, so a fill never loops. */
  #flush(): void {
    this.#filling = false;
    const pending = this.#buffer;
    this.#buffer = [];
    for (const entry of pending) {
      if (this.#retired.has(entry.epoch)) continue;
      if (entry.epoch !== this.#epoch || this.#last === undefined || entry.offset > this.#last) this.#deliver(entry);
    }
  }
}
