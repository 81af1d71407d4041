import { describe, expect, it } from 'vitest';
import { isMainThread } from 'node:worker_threads';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { StateEngine } from '../../src/server/state/state-engine.js';
import { StateWorkerPool } from '../../src/server/state/worker-pool.js';
import { ResilientSocketError } from '../../src/protocol/errors.js';
import type { StoredStateEvent } from '../../src/server/stores/store.js';
import { applyEvent, initialState } from './fixtures/reducer.mjs';
import { track } from './track.js';

const REDUCER = new URL('./fixtures/reducer.mjs', import.meta.url);


const json = (value: unknown): StoredStateEvent['event'] => ({ encoding: 'json', data: JSON.stringify(value) });

/** Write `count` events straight into the store (faster than appending through an engine). */
async function fill(store: MemoryStore, scope: string, count: number, last: unknown): Promise<void> {
  for (let v = 0; v < count - 1; v++) await store.appendStateEvent(scope, v, json({ inc: 1 }));
  await store.appendStateEvent(scope, count - 1, json(last));
}

function events(count: number, make: (v: number) => unknown = () => ({ inc: 1 })): StoredStateEvent[] {
  return Array.from({ length: count }, (_, i) => ({ version: i + 1, event: json(make(i + 1)) }));
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; reason: unknown }> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ResilientSocketError);
  const e = err as ResilientSocketError;
  return { code: e.code, reason: e.details?.reason };
}

describe('state rebuild worker pool', () => {
  it('rebuilds a 100,000-event log in a worker thread, not on the main thread', async () => {
    const store = track(new MemoryStore({ sweepIntervalMs: 0 }));
    await fill(store, 'room:big', 100_000, { probe: true });
    const engine = track(new StateEngine({ store, reducerModule: REDUCER, workers: 1 }));
    const got = await engine.get('room:big');
    expect(got.version).toBe(100_000);
    expect(got.value).toMatchObject({ n: 99_999, probe: { isMainThread: false, version: 100_000 } });
    expect(isMainThread).toBe(true);
    expect(engine.rebuildCount).toEqual({ worker: 1, inline: 0 });
    // New events after the rebuild fold on the main thread with the module's reducer.
    const r = await engine.append('room:big', { probe: true });
    expect(r).toMatchObject({ version: 100_001, value: { n: 99_999, probe: { isMainThread: true } } });
  });

  it('folds short logs inline and long ones in chunks that let the event loop run without a module', async () => {
    const store = track(new MemoryStore({ sweepIntervalMs: 0 }));
    await fill(store, 's', 5_000, { probe: true });
    const engine = track(new StateEngine({ store, applyEvent, initialState, chunkSize: 100 }));
    let turns = 0;
    let done = false;
    const spin = (): void => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const got = await engine.get('s');
    done = true;
    expect(got.value).toMatchObject({ n: 4_999, probe: { isMainThread: true } });
    expect(engine.rebuildCount).toEqual({ worker: 0, inline: 1 });
    // Other callbacks ran between the chunks: the fold did not hold the loop in one piece.
    expect(turns).toBeGreaterThan(10);
  });

  it('queues tasks beyond its size and runs them all', async () => {
    const pool = track(new StateWorkerPool({ reducerModule: REDUCER, size: 1, chunkSize: 50 }));
    const tasks = [1, 2, 3].map((k) => pool.rebuild({ scope: `s${k}`, base: { n: k * 1000, kv: {} }, baseVersion: 0, events: events(200 * k) }));
    expect(pool.queued).toBe(2);
    const results = await Promise.all(tasks);
    expect(results.map((r) => [r.version, (r.value as { n: number }).n])).toEqual([
      [200, 1200],
      [400, 2400],
      [600, 3600],
    ]);
    expect(new Set(results.map((r) => r.threadId)).size).toBe(1);
  });

  it('reports a crashed worker with a coded error and replaces it', async () => {
    const pool = track(new StateWorkerPool({ reducerModule: REDUCER, size: 1 }));
    const before = await pool.rebuild({ scope: 'ok', base: initialState('ok'), baseVersion: 0, events: events(10) });
    const crash = pool.rebuild({ scope: 'bad', base: initialState('bad'), baseVersion: 0, events: events(10, (v) => (v === 5 ? { crash: true } : { inc: 1 })) });
    const queued = pool.rebuild({ scope: 'after', base: initialState('after'), baseVersion: 0, events: events(10) });
    expect(await codeOf(crash)).toEqual({ code: 'ERR_INTERNAL', reason: 'worker_crashed' });
    const after = await queued;
    expect(after.version).toBe(10);
    expect(after.threadId).not.toBe(before.threadId);
    expect(pool.crashCount).toBe(1);
  });

  it('reports a reducer failure or a gap in the log without losing the worker', async () => {
    const pool = track(new StateWorkerPool({ reducerModule: REDUCER, size: 1 }));
    const refused = pool.rebuild({ scope: 'r', base: initialState('r'), baseVersion: 0, events: events(3, (v) => (v === 2 ? { refuse: true } : { inc: 1 })) });
    expect(await codeOf(refused)).toEqual({ code: 'ERR_INTERNAL', reason: 'reducer_failed' });
    const gap = pool.rebuild({ scope: 'g', base: initialState('g'), baseVersion: 1, events: events(3) });
    expect(await codeOf(gap)).toEqual({ code: 'ERR_INTERNAL', reason: 'gap' });
    expect((await pool.rebuild({ scope: 'ok', base: initialState('ok'), baseVersion: 0, events: events(3) })).version).toBe(3);
    expect(pool.crashCount).toBe(0);
  });

  it('fails the engine read of a scope whose rebuild crashed and serves other scopes after', async () => {
    const store = track(new MemoryStore({ sweepIntervalMs: 0 }));
    await fill(store, 'room:crash', 2_000, { crash: true });
    await fill(store, 'room:fine', 2_000, { probe: true });
    const engine = track(new StateEngine({ store, reducerModule: REDUCER, workers: 1 }));
    expect(await codeOf(engine.get('room:crash'))).toEqual({ code: 'ERR_INTERNAL', reason: 'worker_crashed' });
    expect((await engine.get('room:fine')).value).toMatchObject({ probe: { isMainThread: false } });
  });

  it('reports a reducer module that cannot be loaded', async () => {
    const pool = track(new StateWorkerPool({ reducerModule: new URL('./fixtures/no-such-module.mjs', import.meta.url), size: 1 }));
    expect(await codeOf(pool.rebuild({ scope: 's', base: null, baseVersion: 0, events: events(1) }))).toEqual({ code: 'ERR_INTERNAL', reason: 'load_failed' });
  });

  it('rejects running and queued tasks with ERR_CLOSED on close', async () => {
    const pool = new StateWorkerPool({ reducerModule: REDUCER, size: 1, chunkSize: 10 });
    const running = pool.rebuild({ scope: 'a', base: initialState('a'), baseVersion: 0, events: events(5000) });
    const queued = pool.rebuild({ scope: 'b', base: initialState('b'), baseVersion: 0, events: events(10) });
    const outcomes = Promise.all([codeOf(running), codeOf(queued)]);
    await pool.close();
    expect((await outcomes).map((o) => o.code)).toEqual(['ERR_CLOSED', 'ERR_CLOSED']);
    expect((await codeOf(pool.rebuild({ scope: 'c', base: null, baseVersion: 0, events: [] }))).code).toBe('ERR_CLOSED');
  });

  it('validates its options', () => {
    expect(() => new StateWorkerPool({ reducerModule: REDUCER, size: 0 })).toThrow(/options.size must be a positive integer/);
    expect(() => new StateWorkerPool({ reducerModule: REDUCER, chunkSize: 1.5 })).toThrow(/options.chunkSize/);
    expect(() => new StateWorkerPool({ reducerModule: '' })).toThrow(/options.reducerModule/);
  });
});
