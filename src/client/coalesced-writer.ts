/**
 * Coalesces writes: every `request()` made before a write starts is served by that one write,
 * and at most one write runs at a time, so an adapter never sees two concurrent writes of the
 * same key (a slow earlier write can never land after a later one). The write function reads
 * the current state when it starts, so it always includes everything requested before.
 * @internal
 */
export class CoalescedWriter {
  readonly #write: () => Promise<void>;
  #running = false;
  #waiting: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  /** Resolves once a write that started after this call has completed. */
  request(): Promise<void> {
    if (this.#waiting) return this.#waiting.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#waiting = { promise, resolve };
    // A microtask, not a timer: every change made in the same tick lands in one write.
    if (!this.#running) queueMicrotask(() => this.#run());
    return promise;
  }

  #run(): void {
    const batch = this.#waiting;
    if (!batch || this.#running) return;
    this.#waiting = undefined;
    this.#running = true;
    this.#write()
      .catch(() => undefined)
      .then(() => {
        this.#running = false;
        batch.resolve();
        if (this.#waiting) this.#run();
      });
  }
}
