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
    expect(r.pending).toBe(false);
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
