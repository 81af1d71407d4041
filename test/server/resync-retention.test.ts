/**
 * RESYNC past retention: what history still holds is sent before ERR_HISTORY_GAP, so the client
 * skips only what is really gone (not everything up to where live delivery resumed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import type { EntryListener } from '../../src/server/stores/store.js';
import { connectNew, startServer, teardown, until, realClient, roomLog } from './helpers.js';

afterEach(teardown);

describe('RESYNC past retention', () => {
  it('raw frames: the retained part of the range, then ERR_HISTORY_GAP', async () => {
    const server = await startServer({ retention: { maxCount: 4 } });
    const { client, session } = await connectNew(server, ['rs']);
    const epoch = session.rooms.rs!.epoch;
    for (let i = 1; i <= 8; i++) await server.publish('rs', i);
    await client.messages('room:rs', 8);
    client.send({ type: 'RESYNC', stream: 'room:rs', epoch, from: 2 });
    const answer = await client.take((f): f is typeof f => f.type === 'ERROR' || f.type === 'NEW_MESSAGE', 'an answer');
    const frames = [answer];
    while (frames[frames.length - 1]!.type !== 'ERROR') frames.push(await client.take((f): f is typeof f => f.type === 'ERROR' || f.type === 'NEW_MESSAGE', 'an answer'));
    expect(frames.map((f) => (f.type === 'NEW_MESSAGE' ? f.offset : f.type === 'ERROR' ? f.code : f.type))).toEqual([5, 6, 7, 8, 'ERR_HISTORY_GAP']);
  });

  it('client: after a hole in live delivery it gets every retained message once, in order, and a gap for the rest', async () => {
    const store = new MemoryStore();
    // Lose the live notifications of offsets 2..8 (as a lost pub/sub message would).
    const subscribe = store.subscribe.bind(store);
    const unsubscribe = store.unsubscribe.bind(store);
    const wrapped = new Map<EntryListener, EntryListener>();
    store.subscribe = (stream, listener) => {
      const lossy: EntryListener = (entry) => {
        if (stream === 'room:r' && entry.offset >= 2 && entry.offset <= 8) return;
        listener(entry);
      };
      wrapped.set(listener, lossy);
      return subscribe(stream, lossy);
    };
    store.unsubscribe = (stream, listener) => unsubscribe(stream, wrapped.get(listener) ?? listener);
    const server = await startServer({ store, retention: { maxCount: 5 } });
    const client = realClient(server.url);
    const { got, gaps } = roomLog<number>(client, 'r');
    await client.join('r');
    for (let i = 1; i <= 10; i++) await server.publish('r', i);
    await until(() => got.includes(10), 'the last message');
    await new Promise((r) => setTimeout(r, 100));
    // History held 5 or 6 onwards when the RESYNC was answered; only what was trimmed is skipped.
    expect(got[0]).toBe(1);
    const first = got[1]!;
    expect(first).toBeLessThanOrEqual(6);
    expect(got).toEqual([1, ...Array.from({ length: 11 - first }, (_, i) => first + i)]);
    expect(gaps).toEqual([expect.objectContaining({ stream: 'room:r', reason: 'history_gap', from: 2 })]);
  });
});
