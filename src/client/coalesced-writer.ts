/**
 * Coalesces writes: every `request()` or `schedule()` made before a write starts is served by
 * that one write, and at most one write runs at a time, so an adapter never sees two concurrent
 * writes of the same key (a slow earlier write can never land after a later one). The write
 * function reads the current state when it starts, so it always includes everything requested
 * before.
 * @internal
 */
export class CoalescedWriter {
  readonly #write: () => Promise<void>;
  #running = false;
  /** A write is wanted (requested or scheduled) and has not started yet. */
  #wanted = false;
  /** Settles the callers of `request()` waiting for the wanted write; made only when one waits. */
  #waiting: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  /** Resolves once a write that started after this call has completed. */
  request(): Promise<void> {
    this.schedule();
    if (!this.#waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#waiting = { promise, resolve };
    }
    return this.#waiting.promise;
  }

  /** `request()` for a caller that does not wait: no promise is made (one per message otherwise). */
  schedule(): void {
    if (this.#wanted) return;
    this.#wanted = true;
    // A microtask, not a timer: every change made in the same tick lands in one write. Through a
    // resolved promise, not queueMicrotask: Node wraps each queueMicrotask callback in an AsyncResource.
    if (!this.#running) void RESOLVED.then(this.#run);
  }

  readonly #run = (): void => {
    if (!this.#wanted || this.#running) return;
    const batch = this.#waiting;
    this.#wanted = false;
    this.#waiting = undefined;
    this.#running = true;
    this.#write()
      .catch(() => undefined)
      .then(() => {
        this.#running = false;
        batch?.resolve();
        if (this.#wanted) this.#run();
      });
  };
}

const RESOLVED = Promise.resolve();
