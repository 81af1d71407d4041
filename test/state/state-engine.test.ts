import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { StateEngine } from '../../src/server/state/state-engine.js';
import { decodeBlob } from '../../src/server/state/blob-codec.js';
import { applyPatch } from '../../src/protocol/patch.js';
import { ResilientSocketError } from '../../src/protocol/errors.js';
import type { Json } from '../../src/protocol/frames.js';
import type { SessionRecord } from '../../src/server/stores/store.js';
import { applyEvent, initialState } from './fixtures/reducer.mjs';
import { track } from './track.js';


function newStore(now?: () => number): MemoryStore {
  return track(new MemoryStore({ sweepIntervalMs: 0, ...(now ? { now } : {}) }));
}

function session(id: string): SessionRecord {
  return { id, tokenHash: 'x', user: null, rooms: {}, positions: {}, lastSeq: 0, createdAt: 0, owner: null, expiresAt: null };
}

/** Fold every event from the initial state: the reference every read must agree with. */
function replay(scope: string, events: Json[]): Json {
  let s = initialState(scope);
  // Through JSON, as stored: -0 is written as 0.
  (JSON.parse(JSON.stringify(events)) as Json[]).forEach((e, i) => {
    const next = applyEvent(s, e, { scope, version: i + 1, replay: true });
    if (next === undefined) throw new Error('reference replay refused an event');
    s = next;
  });
  return s;
}

const eventArb: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ inc: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ set: fc.constantFrom('a', 'b', 'c/d', 'e~f'), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
);

describe('StateEngine', () => {
  it('starts at version 0 with the initial state and folds appended events', async () => {
    const store = newStore();
    const engine = track(new StateEngine({ store, applyEvent, initialState }));
    expect(await engine.get('room:a')).toEqual({ version: 0, value: { n: 0, kv: {} } });
    const r1 = await engine.append('room:a', { inc: 2 });
    expect(r1).toMatchObject({ status: 'appended', version: 1, base: 0, value: { n: 2, kv: {} } });
    const r2 = await engine.append('room:a', { set: 'x', value: [1] });
    expect(r2).toMatchObject({ status: 'appended', version: 2, base: 1 });
    if (r2.status !== 'appended' || r1.status !== 'appended') throw new Error('not appended');
    expect(applyPatch(r1.value, r2.patch)).toEqual(r2.value);
    expect(await engine.get('room:a')).toEqual({ version: 2, value: { n: 2, kv: { x: [1] } } });
    expect(await store.stateVersion('room:a')).toBe(2);
  });

  it('refuses events the reducer rejects with ERR_STATE_REJECTED and stores nothing', async () => {
    const store = newStore();
    const engine = track(new StateEngine({ store, applyEvent, initialState }));
    await engine.append('s', { inc: 1 });
    for (const event of [{ refuse: true }, { del: 'missing' }] as Json[]) {
      const err = await engine.append('s', event).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResilientSocketError);
      expect((err as ResilientSocketError).code).toBe('ERR_STATE_REJECTED');
    }
    expect(await store.stateVersion('s')).toBe(1);
  });

  it('passes the store dedup verdict through and calls a refused re-send a duplicate', async () => {
    const store = newStore();
    await store.createSession(session('s1'));
    const engine = track(new StateEngine({ store, applyEvent, initialState }));
    await engine.append('room:r', { set: 'k', value: 1 }, { dedup: { sessionId: 's1', seq: 1 } });
    expect(await engine.append('room:r', { inc: 1 }, { dedup: { sessionId: 's1', seq: 1 } })).toEqual({ status: 'duplicate', lastSeq: 1 });
    expect(await engine.append('room:r', { inc: 1 }, { dedup: { sessionId: 's1', seq: 5 } })).toEqual({ status: 'out_of_order', lastSeq: 1 });
    await engine.append('room:r', { del: 'k' }, { dedup: { sessionId: 's1', seq: 2 } });
    // The same delete again would be refused by the reducer, but it is a re-send: a duplicate.
    expect(await engine.append('room:r', { del: 'k' }, { dedup: { sessionId: 's1', seq: 2 } })).toEqual({ status: 'duplicate', lastSeq: 2 });
    expect(await engine.get('room:r')).toMatchObject({ version: 2 });
  });

  it('keeps instances sharing a store consistent: conflicts are retried, reads catch up', async () => {
    const store = newStore();
    const a = track(new StateEngine({ store, applyEvent, initialState, snapshotEvery: 7 }));
    const b = track(new StateEngine({ store, applyEvent, initialState, snapshotEvery: 5 }));
    await a.get('room:x');
    await b.get('room:x');
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) appends.push((i % 2 === 0 ? a : b).append('room:x', { inc: 1 }));
    await Promise.all(appends);
    const expected = { version: 40, value: { n: 40, kv: {} } };
    expect(await a.get('room:x')).toEqual(expected);
    expect(await b.get('room:x')).toEqual(expected);
  });

  it('answers changesSince with an empty patch, a patch from a recent version, or the full value', async () => {
    const store = newStore();
    const engine = track(new StateEngine({ store, applyEvent, initialState, historySize: 4 }));
    const values: Json[] = [(await engine.get('s')).value];
    for (let i = 0; i < 10; i++) {
      const r = await engine.append('s', { set: `k${i}`, value: 'v'.repeat(20) });
      if (r.status === 'appended') values.push(r.value);
    }
    expect(await engine.changesSince('s', 10)).toEqual({ version: 10, base: 10, patch: [] });
    const recent = await engine.changesSince('s', 8);
    expect(recent.base).toBe(8);
    expect(applyPatch(values[8] as Json, recent.patch ?? [])).toEqual(values[10]);
    expect(await engine.changesSince('s', 2)).toEqual({ version: 10, full: values[10] });
    expect(await engine.changesSince('s', null)).toEqual({ version: 10, full: values[10] });
    expect(await engine.changesSince('s', 99)).toEqual({ version: 10, full: values[10] });
  });

  it('snapshot + tail equals a full replay, on any instance, for any event sequence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), async (events, every) => {
        const store = new MemoryStore({ sweepIntervalMs: 0 });
        const writer = new StateEngine({ store, applyEvent, initialState, snapshotEvery: every });
        try {
          for (const e of events) await writer.append('room:p', e);
          await writer.close();
          const snap = await store.getSnapshot('room:p');
          if (events.length >= every) expect(snap?.version).toBeGreaterThanOrEqual(every);
          const reader = new StateEngine({ store, applyEvent, initialState });
          const got = await reader.get('room:p');
          await reader.close();
          expect(got).toEqual({ version: events.length, value: replay('room:p', events) });
          if (snap !== null) expect(await decodeBlob(snap.value)).toEqual(replay('room:p', events.slice(0, snap.version)));
        } finally {
          await store.close();
        }
      }),
      { numRuns: Number(process.env['STATE_PROPERTY_RUNS'] ?? 60) },
    );
  });

  it('takes a snapshot when snapshotIntervalMs passed (injected clock)', async () => {
    let now = 1_000_000;
    const store = newStore(() => now);
    const engine = track(new StateEngine({ store, applyEvent, initialState, snapshotEvery: 1000, snapshotIntervalMs: 60_000, now: () => now }));
    await engine.append('s', { inc: 1 });
    await engine.append('s', { inc: 1 });
    expect(await store.getSnapshot('s')).toBeNull();
    now += 60_000;
    await engine.append('s', { inc: 1 });
    await engine.close();
    expect(await store.getSnapshot('s')).toMatchObject({ version: 3, ts: now });
  });

  it('stores large events and snapshots deflated and reads them back the same as uncompressed', async () => {
    const events: Json[] = [];
    for (let i = 0; i < 30; i++) events.push(i % 4 === 2 ? { inc: i } : { set: `k${i % 7}`, value: `${i}:${'payload '.repeat(i * 20)}` });
    const results: Json[] = [];
    for (const compressThreshold of [64, 1_000_000]) {
      const store = newStore();
      const writer = track(new StateEngine({ store, applyEvent, initialState, snapshotEvery: 10, compressThreshold }));
      for (const e of events.slice(0, 25)) await writer.append('room:z', e);
      await writer.close();
      const stored = await store.readStateEvents('room:z', 0);
      const snap = await store.getSnapshot('room:z');
      const encodings = new Set([...stored.map((s) => s.event.encoding), snap?.value.encoding]);
      expect(encodings).toEqual(compressThreshold === 64 ? new Set(['deflate', 'json']) : new Set(['json']));
      // A reader with the other threshold must read the same, and keep appending.
      const reader = track(new StateEngine({ store, applyEvent, initialState, compressThreshold: 1_000_000 - compressThreshold + 64 }));
      for (const e of events.slice(25)) await reader.append('room:z', e);
      results.push((await reader.get('room:z')).value);
    }
    expect(results[0]).toEqual(replay('room:z', events));
    expect(results[1]).toEqual(results[0]);
  });

  it('folds an event as it is stored, so the writer and a rebuild agree (-0 is stored as 0)', async () => {
    const store = newStore();
    const writer = track(new StateEngine({ store, applyEvent, initialState }));
    const r = await writer.append('s', { set: 'z', value: -0 });
    expect(Object.is((r.status === 'appended' ? (r.value as { kv: { z: number } }).kv.z : NaN), 0)).toBe(true);
    const reader = track(new StateEngine({ store, applyEvent, initialState }));
    expect(await reader.get('s')).toEqual(await writer.get('s'));
    const err = await writer.append('s', undefined as unknown as Json).catch((e: unknown) => e);
    expect((err as ResilientSocketError).code).toBe('ERR_STATE_REJECTED');
  });

  it('notices state deleted behind its back and starts again from version 0', async () => {
    const store = newStore();
    const engine = track(new StateEngine({ store, applyEvent, initialState }));
    await engine.append('s', { inc: 3 });
    await store.deleteState('s');
    expect(await engine.get('s')).toEqual({ version: 0, value: { n: 0, kv: {} } });
  });

  it('validates its options', () => {
    const store = newStore();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ applyEvent }, /options.store/],
      [{ store }, /applyEvent or options.reducerModule/],
      [{ store, applyEvent, snapshotEvery: 0 }, /options.snapshotEvery must be an integer >= 1/],
      [{ store, applyEvent, compressThreshold: -1 }, /options.compressThreshold/],
      [{ store, applyEvent, historySize: 1.5 }, /options.historySize/],
      [{ store, applyEvent, now: 5 }, /options.now must be a function/],
      [{ store, reducerModule: '' }, /options.reducerModule/],
    ];
    for (const [options, message] of bad) {
      expect(() => new StateEngine(options as never)).toThrow(message);
    }
  });
});
