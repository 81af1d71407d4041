import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoff } from '../../src/client/backoff.js';
import type { BackoffOptions } from '../../src/client/backoff.js';

const base: BackoffOptions = { initialDelay: 1000, factor: 2, maxDelay: 30_000, jitter: 'none' };

describe('backoff', () => {
  it('grows exponentially from the initial delay without jitter', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoff(a, base))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('is capped at maxDelay, even for huge attempt numbers', () => {
    expect(backoff(6, base)).toBe(30_000);
    expect(backoff(10_000, base)).toBe(30_000);
  });

  it('full jitter spreads over [0, ceiling]', () => {
    let r = 0;
    const samples = Array.from({ length: 101 }, () => backoff(3, { ...base, jitter: 'full' }, () => (r++ % 101) / 100));
    expect(Math.min(...samples)).toBe(0);
    expect(Math.max(...samples)).toBe(4000);
    expect(new Set(samples).size).toBeGreaterThan(90);
  });

  it('equal jitter stays in [ceiling/2, ceiling]', () => {
    expect(backoff(3, { ...base, jitter: 'equal' }, () => 0)).toBe(2000);
    expect(backoff(3, { ...base, jitter: 'equal' }, () => 0.999999)).toBe(4000);
  });

  it('never leaves [0, maxDelay] whatever the options, attempt and random source', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.constantFrom('full', 'equal', 'none'),
        fc.double({ min: -1, max: 2, noNaN: true }),
        (attempt, initialDelay, factor, extra, jitter, r) => {
          const maxDelay = initialDelay + extra;
          const d = backoff(attempt, { initialDelay, factor, maxDelay, jitter: jitter as BackoffOptions['jitter'] }, () => r);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(maxDelay);
        },
      ),
    );
  });

  it('the ceiling never decreases from one attempt to the next', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5000 }), fc.double({ min: 1, max: 4, noNaN: true }), (attempt, initialDelay, factor) => {
        const o: BackoffOptions = { initialDelay, factor, maxDelay: 60_000, jitter: 'none' };
        expect(backoff(attempt + 1, o)).toBeGreaterThanOrEqual(backoff(attempt, o));
      }),
    );
  });
});
