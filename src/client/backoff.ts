/**
 * Reconnect delays: exponential growth capped at a maximum, with jitter so that many clients
 * cut at the same moment do not come back at the same moment. Pure: the random source is passed in.
 */

/** How the computed delay is randomised. */
export type Jitter = 'full' | 'equal' | 'none';

/** Options of {@link backoff}. */
export interface BackoffOptions {
  /** Delay cap before jitter for the first retry (ms). */
  initialDelay: number;
  /** Growth factor per attempt (>= 1). */
  factor: number;
  /** Upper bound of any delay (ms). */
  maxDelay: number;
  /** Jitter strategy. */
  jitter: Jitter;
}

/**
 * The delay (ms) before retry number `attempt` (1 = the first retry).
 *
 * The exponential ceiling is `min(maxDelay, initialDelay * factor^(attempt-1))`; then
 * - `full`: uniform in `[0, ceiling]` ("full jitter", AWS Architecture Blog, "Exponential Backoff
 *   And Jitter", Marc Brooker, 2015: it spreads a thundering herd best for the least total wait),
 * - `equal`: uniform in `[ceiling/2, ceiling]` (never retries almost at once),
 * - `none`: exactly the ceiling (deterministic, for tests and controlled environments).
 *
 * @param attempt retry number, an integer >= 1
 * @param random a source of uniform numbers in [0, 1), `Math.random` by default
 */
export function backoff(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // Math.pow overflows to Infinity for large attempts and Math.min caps it; only 0 * Infinity
  // (a zero initial delay) needs a guard.
  const grown = options.initialDelay === 0 ? 0 : options.initialDelay * Math.pow(options.factor, n - 1);
  const ceiling = Math.min(options.maxDelay, grown);
  // A broken random source must not produce negative or unbounded delays.
  const r = Math.min(Math.max(random(), 0), 1);
  switch (options.jitter) {
    case 'none':
      return Math.round(ceiling);
    case 'equal':
      return Math.round(ceiling / 2 + r * (ceiling / 2));
    case 'full':
    default:
      return Math.round(r * ceiling);
  }
}
