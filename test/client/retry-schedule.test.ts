import { describe, expect, it } from 'vitest';
import { RetrySchedule } from '../../src/client/retry-schedule.js';
import { FakeClock } from './fakes.js';

function schedule(maxRetries = Infinity, fast: { fastReconnectMaxDelay?: number; fastReconnectWindow?: number } = {}) {
  const clock = new FakeClock();
  let runs = 0;
  const r = new RetrySchedule(
    {
      timers: clock,
      now: () => clock.now,
      random: () => 0.5,
      initialReconnectDelay: 100,
      reconnectFactor: 2,
      maxReconnectDelay: 1000,
      fastReconnectMaxDelay: fast.fastReconnectMaxDelay ?? 1000,
      fastReconnectWindow: fast.fastReconnectWindow ?? 0,
      jitter: 'none',
      maxRetries,
    },
    () => runs++,
  );
  return { r, clock, runs: () => runs };
}

describe('RetrySchedule', () => {
  it('counts failures, grows the delay, and runs once per schedule', async () => {
    const { r, clock, runs } = schedule();
    expect(r.schedule()).toEqual({ attempt: 1, delay: 100 });
    expect(r.nextDelay).toBe(100);
    expect(r.schedule()).toEqual({ attempt: 2, delay: 200 }); // replaces the pending one
    await clock.advance(200);
    expect(runs()).toBe(1);
    expect(r.nextDelay).toBeUndefined();
  });

  it('skipBackoffOnce retries at once without counting; reset starts over', () => {
    const { r } = schedule();
    r.schedule();
    r.skipBackoffOnce();
    expect(r.schedule()).toEqual({ attempt: 1, delay: 0 });
    r.reset();
    expect(r.schedule()).toEqual({ attempt: 1, delay: 100 });
  });

  it('caps delays at fastReconnectMaxDelay during the first fastReconnectWindow of an outage, then grows to maxReconnectDelay', async () => {
    const { r, clock } = schedule(Infinity, { fastReconnectMaxDelay: 300, fastReconnectWindow: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const info = r.schedule()!;
      delays.push(info.delay);
      await clock.advance(info.delay);
    }
    // 100, 200, then capped at 300 until 1000 ms have passed since the first failure; then the
    // exponential ceiling (100 * 2^(n-1)) applies up to maxReconnectDelay.
    expect(delays).toEqual([100, 200, 300, 300, 300, 1000, 1000, 1000]);
    // A connection that opened ends the outage: the next one starts in the fast phase again.
    r.reset();
    expect(r.schedule()).toEqual({ attempt: 1, delay: 100 });
    expect(r.schedule()!.delay).toBe(200);
    expect(r.schedule()!.delay).toBe(300);
  });

  it('is exhausted after maxRetries', () => {
    const { r } = schedule(2);
    expect(r.schedule()).toBeDefined();
    expect(r.schedule()).toBeDefined();
    expect(r.schedule()).toBeUndefined();
  });

  it('runNow fires a pending retry early, once', async () => {
    const { r, clock, runs } = schedule();
    expect(r.runNow()).toBe(false);
    r.schedule();
    expect(r.runNow()).toBe(true);
    await clock.advance(1000);
    expect(runs()).toBe(1);
  });
});

/** A schedule with the client's defaults (full jitter, fast cap 1000 ms) on a fake clock. */
function defaultsSchedule(random: () => number): { r: RetrySchedule; clock: FakeClock } {
  const clock = new FakeClock();
  const r = new RetrySchedule(
    { timers: clock, now: () => clock.now, random, initialReconnectDelay: 1000, reconnectFactor: 2, maxReconnectDelay: 30_000, fastReconnectMaxDelay: 1000, fastReconnectWindow: 30_000, jitter: 'full', maxRetries: Infinity },
    () => {},
  );
  return { r, clock };
}

/** A deterministic uniform source (an LCG) for crowd simulations. */
function lcg(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('RetrySchedule fast phase with full jitter', () => {
  it('draws the first retry over [0, initial] and then keeps a near-constant period (the cap minus up to 10 %) while attempts are refused at once', async () => {
    const draws = [0, 0.25, 0.5, 0.75, 0.999, 0.1, 0.6];
    let i = 0;
    const { r, clock } = defaultsSchedule(() => draws[i++ % draws.length]!);
    const delays: number[] = [];
    for (let n = 0; n < 7; n++) {
      const { delay } = r.schedule()!;
      delays.push(delay);
      await clock.advance(delay); // the attempt starts ... and is refused at once
    }
    // attempt 1: full jitter over the initial ceiling (0 * 1000); later: 900 + 100 * r
    expect(delays).toEqual([0, 925, 950, 975, 1000, 910, 960]);
  });

  it('redraws full jitter after an attempt that hung before failing, so clients the server failed together spread out again', async () => {
    const random = lcg(11);
    const next: number[] = [];
    for (let c = 0; c < 300; c++) {
      const { r, clock } = defaultsSchedule(random);
      // the first retry is refused at once; the second reaches a server that hangs, and every
      // client's attempt fails at the same moment, 5 s after t = 0
      const first = r.schedule()!.delay;
      await clock.advance(first);
      const second = r.schedule()!.delay;
      await clock.advance(second);
      await clock.advance(5000 - first - second);
      next.push(r.schedule()!.delay);
    }
    const buckets = new Array(10).fill(0);
    for (const d of next) buckets[Math.min(9, Math.floor(d / 100))]++;
    // full jitter over [0, 1000]: about 30 per 100 ms; the kept phase would put ~300 in one
    expect(Math.max(...buckets)).toBeLessThanOrEqual(60);
    expect(Math.min(...next)).toBeLessThan(300);
  });

  it('spreads a crowd evenly: after a restart every client retries within one period, none bunched at the start', async () => {
    // 300 clients, each failing every attempt until t = 3000; deterministic random source
    const random = lcg(7);
    const firstAfter: number[] = [];
    for (let c = 0; c < 300; c++) {
      const { r, clock } = defaultsSchedule(random);
      let t = 0;
      for (let n = 0; n < 100 && t < 3000; n++) {
        const d = r.schedule()!.delay;
        await clock.advance(d);
        t += d;
      }
      firstAfter.push(t - 3000);
    }
    // every client's first attempt after the restart falls within one period of it ...
    expect(Math.max(...firstAfter)).toBeLessThanOrEqual(1000);
    // ... and they are not bunched right after it: the first 200 ms hold at most 1.5x their even
    // share (60 of 300). Full jitter redrawn on every retry would put about 115 there (the wait
    // after a restart would be triangular, density 2/period at 0).
    const early = firstAfter.filter((w) => w < 200).length;
    expect(early).toBeLessThanOrEqual(90);
    expect(early).toBeGreaterThan(0);
  });
});
