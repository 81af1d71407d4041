/**
 * One direction of a proxied connection: bytes read from a source socket, held in one FIFO queue
 * and written to a destination socket, with faults applied on the way (stall, latency, throttle,
 * a cut at a chosen byte). One queue and one writer is what keeps byte order: a fault can delay
 * or drop the tail of the stream, never reorder or repeat it.
 */
import type { Socket } from 'node:net';
import type { TimerSet } from './timer-set.js';
import type { WsFrameTracker } from './ws-frame-tracker.js';

/** Added delay for every chunk: `ms` plus a uniformly random `0..jitter` ms. */
export interface LatencyOptions {
  /** Fixed delay per chunk, ms (>= 0). */
  ms: number;
  /** Extra random delay, ms (>= 0); default 0. Chunks never overtake each other. */
  jitter?: number;
}

/** Bandwidth limit for one direction. */
export interface ThrottleOptions {
  /** Bytes forwarded per second (> 0). */
  bytesPerSecond: number;
}

interface Chunk {
  buf: Buffer;
  releaseAt: number;
}

/** @internal */
export interface FaultPipeOptions {
  source: Socket;
  timers: TimerSet;
  random: () => number;
  tracker: WsFrameTracker;
  /** Pause reading from the source above this many queued bytes. */
  highWaterMark: number;
  /** Called once the armed cut point has been written out. */
  onCutPoint: () => void;
}

/** One direction of a proxied connection. @internal */
export class FaultPipe {
  /** Bytes read from the source. */
  bytesIn = 0;
  /** Bytes written to the destination. */
  bytesOut = 0;

  private readonly opts: FaultPipeOptions;
  private dest: Socket | undefined;
  private readonly queue: Chunk[] = [];
  private queued = 0;
  private lastReleaseAt = 0;
  private latencyOpts: LatencyOptions | null = null;
  private throttleOpts: ThrottleOptions | null = null;
  private nextSendAt = 0;
  private stalled = false;
  private paused = false;
  private sourceEnded = false;
  private destEnded = false;
  private waitingDrain = false;
  private waitingWrite = false;
  private timer: number | undefined;
  private cutArmed = false;
  private cutAt: number | undefined;
  private discarded = false;

  constructor(opts: FaultPipeOptions) {
    this.opts = opts;
  }

  /** Whether this direction is stalled. */
  get isStalled(): boolean {
    return this.stalled;
  }

  /** Start writing to `dest` (the other socket is connected). */
  setDestination(dest: Socket): void {
    this.dest = dest;
    this.pump();
  }

  /** A chunk read from the source. */
  push(buf: Buffer): void {
    if (this.discarded) return;
    this.bytesIn += buf.length;
    this.opts.tracker.push(buf);
    let releaseAt = 0;
    if (this.latencyOpts) {
      const { ms, jitter = 0 } = this.latencyOpts;
      releaseAt = Math.max(this.opts.timers.clock.now() + ms + this.opts.random() * jitter, this.lastReleaseAt);
      this.lastReleaseAt = releaseAt;
    }
    this.queue.push({ buf, releaseAt });
    this.queued += buf.length;
    if (this.cutArmed && this.cutAt === undefined) this.locateCut();
    this.updateFlow();
    this.pump();
  }

  /** The source sent FIN: pass it on once everything before it is written. */
  endSource(): void {
    this.sourceEnded = true;
    this.pump();
  }

  stall(): void {
    this.stalled = true;
    this.cancelTimer();
    this.updateFlow();
  }

  resume(): void {
    this.stalled = false;
    this.updateFlow();
    this.pump();
  }

  setLatency(opts: LatencyOptions | null): void {
    this.latencyOpts = opts && (opts.ms > 0 || (opts.jitter ?? 0) > 0) ? { ...opts } : null;
  }

  setThrottle(opts: ThrottleOptions | null): void {
    this.throttleOpts = opts ? { ...opts } : null;
    if (!opts) this.nextSendAt = 0;
    this.cancelTimer();
    this.pump();
  }

  /**
   * Arm a cut inside the next WebSocket frame that has not started going out: the pipe writes
   * part of that frame, then calls `onCutPoint`. Returns false when the stream carries no frames.
   */
  armCutMidFrame(): boolean {
    if (!this.opts.tracker.active || this.discarded) return false;
    this.cutArmed = true;
    this.locateCut();
    this.pump();
    return true;
  }

  /** Cancel an armed mid-frame cut that has not reached its cut point yet. */
  disarmCutMidFrame(): void {
    if (this.waitingWrite) return;
    this.cutArmed = false;
    this.cutAt = undefined;
    this.pump();
  }

  /** Drop everything queued, stop forwarding and keep reading (so FIN/RST can still arrive). */
  discard(): void {
    this.discarded = true;
    this.queue.length = 0;
    this.queued = 0;
    this.cancelTimer();
    if (this.paused && !this.opts.source.destroyed) this.opts.source.resume();
    this.paused = false;
  }

  private locateCut(): void {
    const frame = this.opts.tracker.nextFrame(this.bytesOut);
    if (!frame) return;
    const payload = frame.length - frame.headerLength;
    // Somewhere strictly inside the frame: past its first byte, before its last one.
    const into = Math.min(frame.length - 1, Math.max(1, frame.headerLength + Math.floor(payload / 2)));
    this.cutAt = frame.start + into;
  }

  private cancelTimer(): void {
    this.opts.timers.cancel(this.timer);
    this.timer = undefined;
  }

  private wakeAt(at: number): void {
    if (this.timer !== undefined) return;
    const delay = at - this.opts.timers.clock.now();
    this.timer = this.opts.timers.schedule(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil(delay)));
  }

  private updateFlow(): void {
    const source = this.opts.source;
    if (source.destroyed || this.discarded) return;
    const hwm = this.opts.highWaterMark;
    if (!this.paused && (this.stalled || this.queued > hwm)) {
      this.paused = true;
      source.pause();
    } else if (this.paused && !this.stalled && this.queued <= hwm / 2) {
      this.paused = false;
      source.resume();
    }
  }

  private pump(): void {
    const dest = this.dest;
    if (!dest || this.discarded || this.stalled || this.waitingDrain || this.waitingWrite || this.timer !== undefined) return;
    if (dest.destroyed) return;
    const clock = this.opts.timers.clock;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const now = clock.now();
      if (head.releaseAt > now) return this.wakeAt(head.releaseAt);
      if (this.throttleOpts && now < this.nextSendAt) return this.wakeAt(this.nextSendAt);
      let n = head.buf.length;
      if (this.throttleOpts) n = Math.min(n, Math.max(1, Math.floor(this.throttleOpts.bytesPerSecond / 20)));
      if (this.cutAt !== undefined) n = Math.min(n, this.cutAt - this.bytesOut);
      const slice = head.buf.subarray(0, n);
      head.buf = head.buf.subarray(n);
      if (head.buf.length === 0) this.queue.shift();
      this.queued -= n;
      this.bytesOut += n;
      this.opts.tracker.prune(this.bytesOut);
      if (this.throttleOpts) this.nextSendAt = now + (n * 1000) / this.throttleOpts.bytesPerSecond;
      if (this.cutAt !== undefined && this.bytesOut >= this.cutAt) {
        // Only cut once the partial frame has left this process, or an RST could discard it.
        this.waitingWrite = true;
        dest.write(slice, () => this.opts.onCutPoint());
        return;
      }
      const ok = dest.write(slice);
      this.updateFlow();
      if (!ok) {
        this.waitingDrain = true;
        dest.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
    this.updateFlow();
    if (this.sourceEnded && !this.destEnded) {
      this.destEnded = true;
      dest.end();
    }
  }
}
