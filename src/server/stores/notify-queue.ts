/**
 * Delivery of store notifications (entries, state versions, control messages) to listeners.
 */

/**
 * A FIFO of notifications drained on a microtask.
 *
 * Why not call listeners inline from `append()`: a listener that itself writes to the store
 * (the server echoes, relays, or appends to another stream) would re-enter `append()` and the
 * nested entry would reach the remaining listeners *before* the outer one, so they would see
 * offsets out of order. Queueing every notification in store order and draining the queue from
 * a microtask keeps one global order (the order of the writes) and never runs a listener inside
 * the writer's stack. The microtask is queued before the writer's promise settles, so listeners
 * have run by the time the writer's `await` resumes: "stored, then delivered, then acknowledged".
 *
 * @internal
 */
export class NotifyQueue {
  readonly #queue: Array<() => void> = [];
  #scheduled = false;
  readonly #onError: (error: unknown) => void;

  /** `onError` receives what a listener throws; the queue keeps draining. */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Queue one notification. */
  push(notify: () => void): void {
    this.#queue.push(notify);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#drain());
    }
  }

  /** Drop pending notifications (on close). */
  clear(): void {
    this.#queue.length = 0;
  }

  #drain(): void {
    // Notifications queued by a listener during the drain run in this same loop, after the
    // ones already queued: FIFO, never nested.
    for (let notify = this.#queue.shift(); notify !== undefined; notify = this.#queue.shift()) {
      try {
        notify();
      } catch (error) {
        this.#onError(error);
      }
    }
    this.#scheduled = false;
  }
}
