/**
 * Rate limit of failed resumes (a wrong token for an existing session) per client address, so a
 * stolen session id cannot be paired with a brute-forced token.
 */

/** Window over which failures are counted, ms. */
const WINDOW_MS = 60_000;
/** Addresses tracked before expired windows are pruned. */
const PRUNE_AT = 10_000;

/** Counts failed resumes per address in a fixed one-minute window. @internal */
export class ResumeGuard {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `address` used up its failed resumes for the current window. */
  blocked(address: string): boolean {
    const entry = this.failures.get(address);
    if (!entry) return false;
    if (this.now() - entry.since >= WINDOW_MS) {
      this.failures.delete(address);
      return false;
    }
    return entry.count >= this.limit;
  }

  /** Record a failed resume from `address`. */
  failed(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address);
    if (entry && now - entry.since < WINDOW_MS) entry.count++;
    else this.failures.set(address, { count: 1, since: now });
    if (this.failures.size > PRUNE_AT) {
      for (const [key, value] of this.failures) if (now - value.since >= WINDOW_MS) this.failures.delete(key);
    }
  }
}
