/**
 * When to try the next connection: counts consecutive failures, applies the backoff and
 * `maxRetries`, and owns the timer. Separate from the socket handling so the policy reads in one
 * place. @internal
 */
import { backoff } from './backoff.js';
import type { Jitter } from './backoff.js';
import type { RetryInfo } from './events.js';
import type { Timers } from './timers.js';

/** Options of {@link RetrySchedule} (the client's options of the same names). */
export interface RetryScheduleOptions {
  timers: Timers;
  random: () => number;
  now: () => number;
  initialReconnectDelay: number;
  reconnectFactor: number;
  maxReconnectDelay: number;
  fastReconnectMaxDelay: number;
  fastReconnectWindow: number;
  jitter: Jitter;
  maxRetries: number;
}

/** The retry timer and attempt counter of one client. @internal */
export class RetrySchedule {
  readonly #o: RetryScheduleOptions;
  readonly #run: () => void;
  #attempt = 0;
  #immediate = false;
  #timer: unknown;
  #pending = false;
  #delay: number | undefined;
  /** When the first failed attempt of the current outage was scheduled. */
  #outageStart: number | undefined;

  /** @param run starts the next attempt */
  constructor(options: RetryScheduleOptions, run: () => void) {
    this.#o = options;
    this.#run = run;
  }

  /** Consecutive failed attempts (0 after a connection opened). */
  get attempt(): number {
    return this.#attempt;
  }

  /** Whether a retry is waiting for its timer. */
  get pending(): boolean {
    return this.#pending;
  }

  /** Delay of the waiting retry (ms). */
  get nextDelay(): number | undefined {
    return this.#pending ? this.#delay : undefined;
  }

  /** The next retry happens at once and does not count as a failed attempt. */
  skipBackoffOnce(): void {
    this.#immediate = true;
  }

  /** Schedule the next attempt; `undefined` when `maxRetries` is exhausted. */
  schedule(): RetryInfo | undefined {
    this.cancel();
    let delay = 0;
    if (this.#immediate) {
      this.#immediate = false;
    } else {
      this.#attempt++;
      if (this.#attempt > this.#o.maxRetries) return undefined;
      delay = backoff(this.#attempt, { initialDelay: this.#o.initialReconnectDelay, factor: this.#o.reconnectFactor, maxDelay: this.#cap(), jitter: this.#o.jitter }, this.#o.random);
    }
    this.#delay = delay;
    this.#pending = true;
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#pending = false;
      this.#run();
    }, delay);
    return { attempt: this.#attempt, delay };
  }

  /**
   * The delay cap of this attempt. Short outages (restarts, deploys, a flaky link) are the common
   * case and the application is waiting, so for the first `fastReconnectWindow` ms the cap is the
   * small `fastReconnectMaxDelay` — full jitter still spreads a crowd's retries over it. A longer
   * outage backs off to `maxReconnectDelay`, so a server that stays down is not polled forever.
   */
  #cap(): number {
    const now = this.#o.now();
    this.#outageStart ??= now;
    const fast = now - this.#outageStart < this.#o.fastReconnectWindow;
    return fast ? Math.min(this.#o.maxReconnectDelay, Math.max(this.#o.fastReconnectMaxDelay, this.#o.initialReconnectDelay)) : this.#o.maxReconnectDelay;
  }

  /** Run the waiting retry now (the network came back); false when none is waiting. */
  runNow(): boolean {
    if (!this.#pending) return false;
    this.cancel();
    this.#run();
    return true;
  }

  /** Drop the waiting retry. */
  cancel(): void {
    if (this.#pending) this.#o.timers.clearTimeout(this.#timer);
    this.#pending = false;
    this.#timer = undefined;
  }

  /** A connection opened, or the application asked to start over: count from zero. */
  reset(): void {
    this.#attempt = 0;
    this.#immediate = false;
    this.#outageStart = undefined;
  }
}
