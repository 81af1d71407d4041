/**
 * Per-stream positions of what the application has processed, and the ordering rules for
 * incoming messages: each stream's messages are delivered in offset order, exactly once; a hole
 * is never skipped but asked for again (`RESYNC`). Pure logic, no sockets.
 */
import type { NewMessageFrame, Position, Positions, ResyncFrame } from '../protocol/frames.js';

/** What to do with one received message. */
export interface ReceiveResult {
  /** Messages to hand to the application now, in order (possibly none, possibly several). */
  deliver: NewMessageFrame[];
  /** Ask the server for the missing range. */
  resync?: ResyncFrame;
  /** The stream's epoch changed under us: history before the new epoch is lost. */
  epochChanged?: { stream: string; from: number };
}

/** Tracks positions and reorders messages. */
export class StreamPositions {
  readonly #maxBuffered: number;
  readonly #positions = new Map<string, Position>();
  /** Streams whose next message is accepted at any offset (position unknown after a gap). */
  readonly #reset = new Set<string>();
  /** Early messages waiting for a hole to be filled, per stream, by offset. */
  readonly #buffers = new Map<string, Map<number, NewMessageFrame>>();
  /** Streams with a `RESYNC` in flight. */
  readonly #resyncing = new Set<string>();

  /** @param maxBuffered early messages kept per stream while a hole is filled (more are re-fetched) */
  constructor(maxBuffered = 1000, initial?: Positions) {
    this.#maxBuffered = maxBuffered;
    for (const [stream, p] of Object.entries(initial ?? {})) this.#positions.set(stream, { epoch: p.epoch, offset: p.offset });
  }

  /** The position of a stream (a copy: `advance` moves the one held here in place). */
  get(stream: string): Position | undefined {
    const p = this.#positions.get(stream);
    return p && { epoch: p.epoch, offset: p.offset };
  }

  /** Set a stream's position (a join, a recovery gap). Drops buffered messages it covers. */
  set(stream: string, position: Position): void {
    this.#positions.set(stream, { epoch: position.epoch, offset: position.offset });
    this.#reset.delete(stream);
    const buffer = this.#buffers.get(stream);
    if (buffer) for (const offset of [...buffer.keys()]) if (offset <= position.offset) buffer.delete(offset);
  }

  /** Forget a stream (left room, old session's direct stream). */
  delete(stream: string): void {
    this.#positions.delete(stream);
    this.#reset.delete(stream);
    this.#buffers.delete(stream);
    this.#resyncing.delete(stream);
  }

  /** Accept the next message of `stream` at whatever offset it has (its position is unknown). */
  reset(stream: string): void {
    this.#reset.add(stream);
  }

  /** Whether a `RESYNC` of `stream` is in flight. */
  isResyncing(stream: string): boolean {
    return this.#resyncing.has(stream);
  }

  /** Stream names tracked. */
  streams(): string[] {
    return [...this.#positions.keys()];
  }

  /** A JSON-serialisable copy. */
  snapshot(): Positions {
    const out: Positions = {};
    for (const [stream, p] of this.#positions) out[stream] = { epoch: p.epoch, offset: p.offset };
    return out;
  }

  /** The connection is gone: buffered messages and pending resyncs are void (the resume replays). */
  clearPending(): void {
    this.#buffers.clear();
    this.#resyncing.clear();
  }

  /**
   * The common case, without allocating: `m` is the next message of a stream with a known
   * position and nothing buffered. Moves the position and returns true; otherwise changes
   * nothing and returns false (then `receive` decides).
   */
  advance(m: NewMessageFrame): boolean {
    const p = this.#positions.get(m.stream);
    if (p === undefined || m.epoch !== p.epoch || m.offset !== p.offset + 1) return false;
    if ((this.#reset.size > 0 && this.#reset.has(m.stream)) || (this.#buffers.size > 0 && this.#buffers.has(m.stream))) return false;
    p.offset = m.offset;
    return true;
  }

  /** Process one received message. */
  receive(m: NewMessageFrame): ReceiveResult {
    const p = this.#positions.get(m.stream);
    if (p === undefined || this.#reset.has(m.stream)) {
      return { deliver: this.#accept(m) };
    }
    if (m.epoch !== p.epoch) {
      // The stream was recreated: what the old epoch held past our position is gone for good
      // (reported), and offsets restart at 1 in the new one.
      const epochChanged = { stream: m.stream, from: p.offset + 1 };
      this.#buffers.delete(m.stream);
      this.#resyncing.delete(m.stream);
      if (m.offset <= 1) return { deliver: this.#accept(m), epochChanged };
      // Messages of the new epoch came before this one (published while its live feed was not
      // ours, e.g. during a store failover): fetch them from offset 1 like any hole. What the new
      // epoch no longer holds comes back as ERR_HISTORY_GAP, and `skipGap` starts at this message.
      this.#positions.set(m.stream, { epoch: m.epoch, offset: 0 });
      this.#buffers.set(m.stream, new Map([[m.offset, m]]));
      this.#resyncing.add(m.stream);
      return { deliver: [], epochChanged, resync: { type: 'RESYNC', stream: m.stream, epoch: m.epoch, from: 1 } };
    }
    if (m.offset <= p.offset) return { deliver: [] }; // a replay overlapping live traffic
    if (m.offset === p.offset + 1) return { deliver: this.#accept(m) };
    let buffer = this.#buffers.get(m.stream);
    if (!buffer) this.#buffers.set(m.stream, (buffer = new Map()));
    // Beyond the bound the message is simply dropped: the RESYNC replays from the hole onwards.
    if (buffer.size < this.#maxBuffered) buffer.set(m.offset, m);
    if (this.#resyncing.has(m.stream)) return { deliver: [] };
    this.#resyncing.add(m.stream);
    return { deliver: [], resync: { type: 'RESYNC', stream: m.stream, epoch: p.epoch, from: p.offset + 1 } };
  }

  /**
   * The server cannot fill the hole (`ERR_HISTORY_GAP`): skip to the first buffered message and
   * deliver what is buffered; without one, accept the next message at any offset.
   * Returns the messages to deliver and the first offset that was lost.
   */
  skipGap(stream: string): { deliver: NewMessageFrame[]; from: number } {
    const p = this.#positions.get(stream);
    const from = (p?.offset ?? 0) + 1;
    this.#resyncing.delete(stream);
    const buffer = this.#buffers.get(stream);
    const first = buffer && buffer.size > 0 ? Math.min(...buffer.keys()) : undefined;
    if (first === undefined || p === undefined) {
      this.#reset.add(stream);
      return { deliver: [], from };
    }
    this.#positions.set(stream, { epoch: p.epoch, offset: first - 1 });
    const m = buffer!.get(first)!;
    return { deliver: this.#accept(m), from };
  }

  /** Deliver `m`, move the position, then drain every buffered message that now follows. */
  #accept(m: NewMessageFrame): NewMessageFrame[] {
    const out = [m];
    this.#reset.delete(m.stream);
    let position = { epoch: m.epoch, offset: m.offset };
    const buffer = this.#buffers.get(m.stream);
    if (buffer) {
      buffer.delete(m.offset);
      for (let next = buffer.get(position.offset + 1); next !== undefined; next = buffer.get(position.offset + 1)) {
        buffer.delete(next.offset);
        if (next.epoch !== position.epoch) continue;
        out.push(next);
        position = { epoch: next.epoch, offset: next.offset };
      }
      for (const offset of [...buffer.keys()]) if (offset <= position.offset) buffer.delete(offset);
      if (buffer.size === 0) {
        this.#buffers.delete(m.stream);
        this.#resyncing.delete(m.stream);
      }
    }
    this.#positions.set(m.stream, position);
    return out;
  }
}
