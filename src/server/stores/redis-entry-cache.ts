/**
 * Entries the Redis store read recently, kept decoded so that the next reads of the same range
 * (the sessions of a room resuming after a storm, each replaying the same missed entries) need
 * at most the stream's bounds and what follows the kept entries from Redis, not the entries again.
 */
import type { StreamEntry, StreamInfo } from './store.js';

/** Entries kept at most, across streams. */
const MAX_ENTRIES = 4096;
/** ...and at most this many characters of entry bodies (1 MiB messages must not pile up). */
const MAX_CHARS = 4 * 1024 * 1024;

/**
 * Decoded entries by stream and offset, oldest dropped first. An entry is immutable once
 * stored, and its stream's epoch names its history (a lost or forgotten stream restarts under a
 * new random epoch), so a cached entry answers for (stream, epoch, offset) for good; what the
 * cache cannot know is whether the range still exists, so an answer always needs fresh bounds
 * (`covering` takes them). Epochs must not repeat for one stream name (the default epochs are 64
 * random bits); `forget` drops a stream this instance deletes.
 *
 * @internal
 */
export class EntryCache {
  /** Kept entries by stream, then offset. */
  readonly #streams = new Map<string, Map<number, Kept>>();
  /** Every kept entry, oldest first (eviction order). */
  readonly #order = new Set<Kept>();
  #chars = 0;
  readonly #maxEntries: number;
  readonly #maxChars: number;

  constructor(maxEntries = MAX_ENTRIES, maxChars = MAX_CHARS) {
    this.#maxEntries = maxEntries;
    this.#maxChars = maxChars;
  }

  /** Whether the entry at `offset` of `stream` (any epoch) is kept: a bounds read may then answer. */
  holds(stream: string, offset: number): boolean {
    return this.#streams.get(stream)?.has(offset) === true;
  }

  /**
   * How many entries from `from` on (at most `max`) are kept back to back, in any epoch: a read
   * of that range needs only what comes after them, with bounds to check them against.
   */
  run(stream: string, from: number, max: number): number {
    const kept = this.#streams.get(stream);
    if (kept === undefined) return 0;
    let n = 0;
    while (n < max && kept.has(from + n)) n++;
    return n;
  }

  /**
   * The entries a read of `limit` entries after `after` would return, given bounds `info` read
   * after the caller asked; undefined unless every one of them is kept in `info.epoch`.
   */
  covering(stream: string, info: StreamInfo, after: number, limit: number): StreamEntry[] | undefined {
    // Trimmed past the start: the read reports where history starts now; let it.
    if (info.firstOffset > after + 1) return undefined;
    const kept = this.#streams.get(stream);
    const upTo = Math.min(info.lastOffset, after + limit);
    const entries: StreamEntry[] = [];
    for (let offset = after + 1; offset <= upTo; offset++) {
      const one = kept?.get(offset);
      if (one === undefined || one.entry.epoch !== info.epoch) return undefined;
      entries.push(one.entry);
    }
    return entries;
  }

  /** Keep the entries of one read of `stream`; `chars` is the size of their stored bodies. */
  keep(stream: string, entries: StreamEntry[], chars: number): void {
    // Nothing to keep, or a read larger than the whole budget.
    if (entries.length === 0 || entries.length > this.#maxEntries || chars > this.#maxChars) return;
    const each = Math.ceil(chars / entries.length);
    let kept = this.#streams.get(stream);
    if (kept === undefined) {
      kept = new Map();
      this.#streams.set(stream, kept);
    }
    for (const entry of entries) {
      const old = kept.get(entry.offset);
      if (old !== undefined) this.#drop(old);
      const one: Kept = { stream, entry, chars: each };
      kept.set(entry.offset, one);
      this.#order.add(one);
      this.#chars += each;
    }
    for (const old of this.#order) {
      if (this.#order.size <= this.#maxEntries && this.#chars <= this.#maxChars) break;
      this.#drop(old);
    }
  }

  /** Drop every kept entry of `stream` (it was deleted). */
  forget(stream: string): void {
    const kept = this.#streams.get(stream);
    if (kept === undefined) return;
    for (const one of kept.values()) this.#drop(one);
  }

  /** Entries kept (for tests). */
  get size(): number {
    return this.#order.size;
  }

  #drop(one: Kept): void {
    if (!this.#order.delete(one)) return;
    this.#chars -= one.chars;
    const kept = this.#streams.get(one.stream);
    if (kept?.get(one.entry.offset) === one) {
      kept.delete(one.entry.offset);
      if (kept.size === 0) this.#streams.delete(one.stream);
    }
  }
}

interface Kept {
  stream: string;
  entry: StreamEntry;
  chars: number;
}
