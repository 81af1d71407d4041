/**
 * The state engine over real Redis: two stores with the same key prefix stand for two server
 * processes. Skipped (loudly) when Redis is unreachable, unless REQUIRE_REDIS=1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/server/stores/redis.js';
import { StateEngine } from '../../src/server/state/state-engine.js';
import { StateFeed } from '../../src/server/state/state-feed.js';
import { StateSync } from '../../src/client/state-sync.js';
import type { Json, StateUpdateFrame } from '../../src/protocol/frames.js';
import type { VersionListener } from '../../src/server/stores/store.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { applyEvent, initialState } from './fixtures/reducer.mjs';
import { track } from './track.js';

const redisUp = await redisAvailable();
const base = uniquePrefix('state');
const REDUCER = new URL('./fixtures/reducer.mjs', import.meta.url);

afterAll(async () => {
  if (redisUp) await deleteKeys(base);
});

let n = 0;
/** Two stores on one fresh prefix: two "processes" sharing Redis. */
async function pair(): Promise<[RedisStore, RedisStore]> {
  const prefix = `${base}${++n}:`;
  const stores = [0, 1].map(() => track(new RedisStore({ url: REDIS_URL, keyPrefix: prefix, onError: () => undefined })));
  for (const s of stores) await s.ping();
  return stores as [RedisStore, RedisStore];
}

function replay(scope: string, events: Json[]): Json {
  return events.reduce<Json>((s, e, i) => applyEvent(s, e, { scope, version: i + 1, replay: true }) as Json, initialState(scope));
}

describe.skipIf(!redisUp)('state over Redis', () => {
  it('keeps two processes consistent under concurrent appends, with snapshots and compression', async () => {
    const [ra, rb] = await pair();
    const a = track(new StateEngine({ store: ra, applyEvent, initialState, snapshotEvery: 7, compressThreshold: 200 }));
    const b = track(new StateEngine({ store: rb, applyEvent, initialState, snapshotEvery: 5, compressThreshold: 100_000 }));
    const events: Json[] = [];
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const e: Json = i % 3 === 0 ? { set: `k${i % 4}`, value: 'z'.repeat(300) + i } : { inc: 1 };
      events.push(e);
      appends.push((i % 2 === 0 ? a : b).append('room:c', e));
    }
    await Promise.all(appends);
    const got = [await a.get('room:c'), await b.get('room:c')];
    expect(got[0]).toEqual(got[1]);
    expect(got[0]?.version).toBe(30);
    expect((got[0]?.value as { n: number }).n).toBe(20);
    await a.close();
    await b.close();
    // A third process rebuilds from the snapshot + tail, whatever encodings were used.
    const snap = await ra.getSnapshot('room:c');
    expect(snap).not.toBeNull();
    const fresh = track(new StateEngine({ store: ra, applyEvent, initialState }));
    expect(await fresh.get('room:c')).toEqual(got[0]);
  });

  it('rebuilds a long Redis log in the worker pool and equals a full replay', async () => {
    const [ra] = await pair();
    const events: Json[] = Array.from({ length: 3000 }, (_, i): Json => (i === 2999 ? { probe: true } : { inc: 1 }));
    for (let v = 0; v < events.length; v++) await ra.appendStateEvent('room:big', v, { encoding: 'json', data: JSON.stringify(events[v]) });
    const engine = track(new StateEngine({ store: ra, reducerModule: REDUCER, workers: 1, workerThreshold: 1000 }));
    const got = await engine.get('room:big');
    expect(got.version).toBe(3000);
    expect(got.value).toMatchObject({ n: 2999, probe: { isMainThread: false } });
    const expected = replay('room:big', events.slice(0, 2999));
    expect({ ...(got.value as object), probe: undefined }).toEqual({ ...(expected as object), probe: undefined });
  });

  it('fans out across processes: a feed on one process follows appends made on the other', async () => {
    const [ra, rb] = await pair();
    const writer = track(new StateEngine({ store: ra, applyEvent, initialState }));
    const reader = track(new StateEngine({ store: rb, applyEvent, initialState }));
    const wire: StateUpdateFrame[] = [];
    const feed = new StateFeed({ changesSince: (s, v, k) => reader.changesSince(s, v, k), send: (f) => wire.push(f), toStoreScope: (s) => s });
    const listener: VersionListener = (_s, v) => void feed.notify('room:f', v);
    await rb.subscribeState('room:f', listener);
    try {
      await feed.follow('room:f', null, 'live');
      for (let i = 0; i < 10; i++) await writer.append('room:f', { set: `k${i}`, value: i });
      const client = new StateSync();
      const deadline = Date.now() + 5000;
      while ((client.get('room:f')?.version ?? -1) < 10 && Date.now() < deadline) {
        const f = wire.shift();
        if (f === undefined) await new Promise((r) => setTimeout(r, 10));
        else for (const a of client.receive(f).actions) if (a.type === 'send' && a.frame.type === 'STATE_RESYNC') await feed.resync('room:f');
      }
      expect(client.get('room:f')).toEqual({ ...(await writer.get('room:f')), confirmed: true });
    } finally {
      await rb.unsubscribeState('room:f', listener);
    }
  });
});
