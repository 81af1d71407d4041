import { describe, expect, it } from 'vitest';
import { CoalescedWriter } from '../../src/client/coalesced-writer.js';

/** A writer whose writes finish only when the test says so; records the state each write saw. */
function controlled() {
  let state = 0;
  const seen: number[] = [];
  const finish: Array<() => void> = [];
  const writer = new CoalescedWriter(() => {
    seen.push(state);
    return new Promise<void>((r) => finish.push(r));
  });
  return { writer, seen, finish, set: (v: number) => (state = v) };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe('CoalescedWriter', () => {
  it('serves every schedule() and request() of one tick with one write', async () => {
    const w = controlled();
    w.set(1);
    w.writer.schedule();
    const p = w.writer.request();
    w.writer.schedule();
    await tick();
    expect(w.seen).toEqual([1]);
    w.finish[0]!();
    await p;
    expect(w.seen).toEqual([1]);
  });

  it('a change made during a write gets a later write that sees it, never a concurrent one', async () => {
    const w = controlled();
    w.set(1);
    w.writer.schedule();
    await tick();
    w.set(2);
    w.writer.schedule();
    const p = w.writer.request();
    await tick();
    expect(w.seen).toEqual([1]); // the second waits for the first
    w.finish[0]!();
    await tick();
    expect(w.seen).toEqual([1, 2]);
    let settled = false;
    void p.then(() => (settled = true));
    await tick();
    expect(settled).toBe(false); // request() resolves after the write that started after it
    w.finish[1]!();
    await p;
  });

  it('a failing write does not stop later ones', async () => {
    let n = 0;
    const writer = new CoalescedWriter(async () => {
      n++;
      if (n === 1) throw new Error('disk full');
    });
    await writer.request();
    await writer.request();
    expect(n).toBe(2);
  });
});
