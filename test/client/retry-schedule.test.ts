import { describe, expect, it } from 'vitest';
import { RetrySchedule } from '../../src/client/retry-schedule.js';
import { FakeClock } from './fakes.js';

function schedule(maxRetries = Infinity) {
  const clock = new FakeClock();
  let runs = 0;
  const r = new RetrySchedule({ timers: clock, random: () => 0.5, initialReconnectDelay: 100, reconnectFactor: 2, maxReconnectDelay: 1000, jitter: 'none', maxRetries }, () => runs++);
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
