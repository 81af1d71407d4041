/**
 * Timers for the proxy, behind an injectable clock so tests can drive them, and tracked so that
 * `close()` can clear every one of them.
 */

/** The clock and timers the proxy uses. Defaults to the global ones. */
export interface ProxyClock {
  /** Current time in ms (monotonic is best; `Date.now` works). */
  now(): number;
  /** Schedule `fn` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a handle returned by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** The default clock: `performance.now()` and the global timers. */
export const systemClock: ProxyClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A set of pending timers on one clock, cleared all at once on close. @internal */
export class TimerSet {
  readonly clock: ProxyClock;
  private readonly pending = new Map<number, unknown>();
  private nextId = 1;
  private closed = false;

  constructor(clock: ProxyClock) {
    this.clock = clock;
  }

  /** Number of timers scheduled and not yet fired or cancelled. */
  get size(): number {
    return this.pending.size;
  }

  /** Schedule `fn` after `ms`; returns an id for `cancel`. Does nothing once cleared for good. */
  schedule(fn: () => void, ms: number): number {
    const id = this.nextId++;
    if (this.closed) return id;
    const handle = this.clock.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, Math.max(0, ms));
    this.pending.set(id, handle);
    return id;
  }

  /** Cancel a timer; unknown or fired ids are ignored. */
  cancel(id: number | undefined): void {
    if (id === undefined) return;
    if (!this.pending.has(id)) return;
    const handle = this.pending.get(id);
    this.pending.delete(id);
    this.clock.clearTimeout(handle);
  }

  /** Cancel every pending timer and refuse new ones. */
  close(): void {
    this.closed = true;
    for (const handle of this.pending.values()) this.clock.clearTimeout(handle);
    this.pending.clear();
  }
}
