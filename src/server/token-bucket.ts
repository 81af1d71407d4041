/**
 * The per-connection frame rate limit: a token bucket (refilled continuously at `ratePerSecond`,
 * holding at most `burst` tokens, starting full). A bucket rather than a fixed window because a
 * client that reconnects flushes its whole offline queue at once: the burst lets that through,
 * while a peer that keeps sending faster than the rate still runs dry within `burst / rate` s.
 */

/** A token bucket over an injected clock. @internal */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Take one token; false when the bucket is empty (the frame is over the limit). */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
