import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../src/server/stores/memory.js';
import type { Json } from '../../src/protocol/index.js';
import { storeConformance } from './conformance.js';
import { KEEP_ALL, entry } from './conformance-context.js';

storeConformance('MemoryStore', ({ now }) => new MemoryStore({ now }), { sharedAcrossInstances: false, propertyRuns: 100 });

describe('MemoryStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses invalid options with precise messages', () => {
    expect(() => new MemoryStore({ sweepIntervalMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: 'options.sweepIntervalMs must be a non-negative integer' }));
    // @ts-expect-error: wrong type on purpose
    expect(() => new MemoryStore({ now: 5 })).toThrow('options.now must be a function');
  });

  it('refuses an invalid retention', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    await expect(store.append('room:r', entry('m'), { maxCount: -1, maxAgeMs: 10 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await store.close();
  });

  it('delivers an entry before the writer resumes, never inside the writer\'s call', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const order: string[] = [];
    await store.subscribe('room:r', () => order.push('listener'));
    const pending = store.append('room:r', entry('m'), KEEP_ALL);
    order.push('returned');
    await pending;
    order.push('resumed');
    expect(order).toEqual(['returned', 'listener', 'resumed']);
    await store.close();
  });

  it('keeps delivering when a listener throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const store = new MemoryStore({ sweepIntervalMs: 0, onListenerError: (error) => errors.push(error) });
    const seen: number[] = [];
    await store.subscribe('room:r', () => { throw new Error('boom'); });
    await store.subscribe('room:r', (e) => seen.push(e.offset));
    await store.append('room:r', entry('m1'), KEEP_ALL);
    await store.append('room:r', entry('m2'), KEEP_ALL);
    expect(seen).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
    await store.close();
  });

  it('hands out frozen entries that later changes to the input cannot alter', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const data = { list: [1] };
    const result = await store.append('room:r', { id: 'm', from: null, user: null, data }, KEEP_ALL);
    data.list.push(2);
    const { entries } = await store.read('room:r', 0, 10);
    expect(entries[0]!.data).toEqual({ list: [1] });
    expect(Object.isFrozen(entries[0]!.data)).toBe(true);
    expect(result.status === 'appended' && Object.isFrozen(result.entry)).toBe(true);
    await store.close();
  });

  it('stores nested data as a frozen copy and keeps an own __proto__ key as data', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const data = JSON.parse('{"a":[{"b":1},[2,"c"]],"__proto__":{"polluted":true},"n":null}') as Json;
    await store.append('room:r', { id: 'm', from: null, user: null, data }, KEEP_ALL);
    const stored = (await store.read('room:r', 0, 10)).entries[0]!.data as Record<string, Json>;
    expect(JSON.stringify(stored)).toBe(JSON.stringify(data));
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.hasOwn(stored, '__proto__')).toBe(true);
    const list = stored.a as Json[];
    expect([stored, list, list[0], list[1], stored.__proto__].every((v) => Object.isFrozen(v))).toBe(true);
    await store.close();
  });

  it('keeps the newest maxCount entries when appends pass the count one at a time or after a lower limit', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    for (let i = 1; i <= 10; i++) await store.append('room:r', entry(`m${i}`), { maxCount: 4, maxAgeMs: 60_000 });
    expect((await store.read('room:r', 0, 100)).entries.map((e) => e.id)).toEqual(['m7', 'm8', 'm9', 'm10']);
    await store.append('room:r', entry('m11'), { maxCount: 2, maxAgeMs: 60_000 });
    expect((await store.read('room:r', 0, 100)).entries.map((e) => e.id)).toEqual(['m10', 'm11']);
    expect(await store.info('room:r')).toMatchObject({ firstOffset: 10, lastOffset: 11 });
    await store.close();
  });

  it('runs its age sweep on a timer that does not hold the process, and stops it on close', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryStore({ sweepIntervalMs: 1000 });
    await store.append('room:r', entry('m'), { maxCount: 10, maxAgeMs: 500 });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(3000);
    expect(await store.info('room:r')).toMatchObject({ firstOffset: 2, lastOffset: 1 });
    await store.close();
    expect(vi.getTimerCount()).toBe(0);
    await expect(store.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    vi.useRealTimers();
    // Active resources list only timers that keep the event loop alive: an unref'd one is absent.
    const refTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = refTimers();
    const real = new MemoryStore({ sweepIntervalMs: 1000 });
    expect(refTimers()).toBe(before);
    await real.close();
  });

  it('gives each store its own epochs (a restarted process starts a new epoch)', async () => {
    const first = new MemoryStore({ sweepIntervalMs: 0 });
    const second = new MemoryStore({ sweepIntervalMs: 0 });
    expect((await first.info('room:r')).epoch).not.toBe((await second.info('room:r')).epoch);
    await first.close();
    await second.close();
  });
});
