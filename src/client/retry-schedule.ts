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
  /** Whether the last computed cap was the fast phase's. */
  #fast = false;
  /** When the attempt now failing was started by this schedule's timer (or `runNow`). */
  #firedAt: number | undefined;

  /** @param run starts the next attempt */
  constructor(options: RetryScheduleOptions, run: () => void) {
    this.#o = options;
    this.#run = run;
  }

  /** Consecutive failed attempts (0 after a connection opened). */
  get attempt(): number {
    return this.#attempt;
  }

  /** Delay of the waiting retry (ms); undefined while none waits. */
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
      delay = this.#delayOf(this.#attempt);
    }
    this.#delay = delay;
    this.#pending = true;
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#pending = false;
      this.#fire();
    }, delay);
    return { attempt: this.#attempt, delay };
  }

  /**
   * The delay before retry `attempt`. During the fast phase, once the exponential ceiling has
   * reached the fast cap, full jitter gives way to a near-constant period (the cap minus up to
   * 10 %): the first retries' jitter already gave each client its own phase, and keeping the
   * period keeps a crowd spread evenly over one period. Redrawing full jitter on every retry
   * would make the wait after a restart triangular (most clients retry right after it, the
   * slowest 1 % after 0.9 of the cap); the near-constant period gives a flat spread with about
   * `clients / (cap / 100)` handshakes per 100 ms and everyone back within one period.
   *
   * The phase is only worth keeping when the failure came on the client's own schedule: an
   * attempt refused at once (within a tenth of the cap of its start). An attempt that hung and
   * then failed ended when the server did something — crashed, timed out many handshakes at
   * once — and so did everyone else's: those clients redraw full jitter, or a crowd the server
   * failed together would stay bunched together.
   */
  #delayOf(attempt: number): number {
    const o = this.#o;
    const cap = this.#cap();
    const grown = o.initialReconnectDelay * Math.pow(o.reconnectFactor, attempt - 1);
    const onOwnSchedule = this.#firedAt !== undefined && o.now() - this.#firedAt <= cap / 10;
    if (this.#fast && o.jitter === 'full' && grown > cap && onOwnSchedule) {
      const r = Math.min(Math.max(o.random(), 0), 1);
      return Math.round(cap * (0.9 + 0.1 * r));
    }
    return backoff(attempt, { initialDelay: o.initialReconnectDelay, factor: o.reconnectFactor, maxDelay: cap, jitter: o.jitter }, o.random);
  }

  /**
   * The delay cap of this attempt. Short outages (restarts, deploys, a flaky link) are the common
   * case and the application is waiting, so for the first `fastReconnectWindow` ms the cap is the
   * small `fastReconnectMaxDelay` (see {@link #delayOf} for how a crowd stays spread). A longer
   * outage backs off to `maxReconnectDelay`, so a server that stays down is not polled forever.
   */
  #cap(): number {
    const now = this.#o.now();
    this.#outageStart ??= now;
    const fast = (this.#fast = now - this.#outageStart < this.#o.fastReconnectWindow);
    return fast ? Math.min(this.#o.maxReconnectDelay, Math.max(this.#o.fastReconnectMaxDelay, this.#o.initialReconnectDelay)) : this.#o.maxReconnectDelay;
  }

  /** Run the waiting retry now (the network came back); false when none is waiting. */
  runNow(): boolean {
    if (!this.#pending) return false;
    this.cancel();
    this.#fire();
    return true;
  }

  #fire(): void {
    this.#firedAt = this.#o.now();
    this.#run();
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
    this.#firedAt = undefined;
  }
}
