/** The per-connection rate limit's token bucket, on a manual clock. */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/server/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a full burst at once, then the steady rate, and never more than the burst after idling', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 25, () => now);
    let taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(25);
    now += 1000; // one second refills 10
    taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(10);
    now += 60_000; // a long idle refills to the burst, not beyond
    taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(25);
  });

  it('a sender at the rate is never refused; one above it is, once its burst is spent', () => {
    let now = 0;
    const steady = new TokenBucket(100, 10, () => now);
    for (let i = 0; i < 10_000; i++) {
      now += 10;
      expect(steady.take()).toBe(true);
    }
    const fast = new TokenBucket(100, 10, () => now);
    let refusedAt = -1;
    for (let i = 0; i < 1000 && refusedAt < 0; i++) {
      now += 5; // 200 frames/s
      if (!fast.take()) refusedAt = i;
    }
    // 10 in the burst, then it gains half a token per frame: empty after about 20 frames.
    expect(refusedAt).toBeGreaterThan(15);
    expect(refusedAt).toBeLessThan(25);
  });
});
