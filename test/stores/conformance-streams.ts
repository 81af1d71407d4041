/** Conformance: streams (offsets, epochs, retention, reads, dedup) and live subscriptions. */
import { describe, expect, it } from 'vitest';
import type { Json } from '../../src/protocol/index.js';
import type { StreamEntry } from '../../src/server/stores/store.js';
import type { World } from './conformance-context.js';
import { KEEP_ALL, entry, session, until } from './conformance-context.js';

/** Stream tests, run inside the adapter's describe block. */
export function streamTests(world: () => World): void {
  describe('streams', () => {
    it('gives a new stream an epoch and empty bounds, stable until it is deleted', async () => {
      const { a, b } = world();
      const info = await a.info('room:new');
      expect(info).toEqual({ epoch: expect.any(String), firstOffset: 1, lastOffset: 0 });
      expect(info.epoch.length).toBeGreaterThan(0);
      expect(await b.info('room:new')).toEqual(info);
      await a.append('room:new', entry('m1'), KEEP_ALL);
      expect((await b.info('room:new')).epoch).toBe(info.epoch);
      expect((await a.info('room:other')).epoch).not.toBe(info.epoch);
    });

    it('assigns consecutive offsets from 1 and stores what was given', async () => {
      const { a, b, clock } = world();
      const results = [];
      for (let i = 1; i <= 5; i++) {
        clock.advance(1);
        results.push(await (i % 2 === 0 ? a : b).append('room:r', entry(`m${i}`, { i, nested: { list: [i, 'x', null, true] } }, i === 3 ? 's9' : null), KEEP_ALL));
      }
      const { epoch } = await a.info('room:r');
      expect(results.map((r) => (r.status === 'appended' ? r.entry.offset : r.status))).toEqual([1, 2, 3, 4, 5]);
      const third = results[2]!;
      expect(third).toEqual({
        status: 'appended',
        entry: { stream: 'room:r', epoch, offset: 3, id: 'm3', from: 's9', user: 'user-of-s9', data: { i: 3, nested: { list: [3, 'x', null, true] } }, ts: clock.now() - 2 },
      });
      const { info, entries } = await b.read('room:r', 0, 100);
      expect(info).toEqual({ epoch, firstOffset: 1, lastOffset: 5 });
      expect(entries).toEqual(results.map((r) => (r.status === 'appended' ? r.entry : null)));
    });

    it('keeps JSON data of every shape intact', async () => {
      const { a, b } = world();
      const shapes: Json[] = [null, 0, -1.5, 'ünïcødé 🚀', '', [], {}, [[]], { a: [] }, { 'k"\\': 'v\n' }, true, false, 2 ** 53 - 1];
      for (const [i, data] of shapes.entries()) await a.append('room:j', entry(`m${i}`, data), KEEP_ALL);
      const { entries } = await b.read('room:j', 0, 100);
      expect(entries.map((e) => e.data)).toEqual(shapes);
    });

    it('reads after an offset, within a limit, with the bounds', async () => {
      const { a } = world();
      for (let i = 1; i <= 10; i++) await a.append('room:r', entry(`m${i}`), KEEP_ALL);
      const offsets = async (after: number, limit: number): Promise<number[]> => (await a.read('room:r', after, limit)).entries.map((e) => e.offset);
      expect(await offsets(0, 3)).toEqual([1, 2, 3]);
      expect(await offsets(4, 3)).toEqual([5, 6, 7]);
      expect(await offsets(8, 100)).toEqual([9, 10]);
      expect(await offsets(10, 100)).toEqual([]);
      expect(await offsets(50, 100)).toEqual([]);
      expect(await offsets(3, 0)).toEqual([]);
      const unknown = await a.read('room:none', 0, 10);
      expect(unknown.entries).toEqual([]);
      expect(unknown.info).toMatchObject({ firstOffset: 1, lastOffset: 0 });
    });

    it('trims by count and reports the first retained offset', async () => {
      const { a, b } = world();
      const retention = { maxCount: 3, maxAgeMs: 86_400_000 };
      for (let i = 1; i <= 7; i++) await a.append('room:r', entry(`m${i}`), retention);
      const { info, entries } = await b.read('room:r', 0, 100);
      expect(info).toMatchObject({ firstOffset: 5, lastOffset: 7 });
      expect(entries.map((e) => e.id)).toEqual(['m5', 'm6', 'm7']);
      expect((await b.read('room:r', 5, 100)).entries.map((e) => e.offset)).toEqual([6, 7]);
    });

    it('keeps offsets going after everything is trimmed (maxCount 0)', async () => {
      const { a } = world();
      const retention = { maxCount: 0, maxAgeMs: 86_400_000 };
      const first = await a.append('room:r', entry('m1'), retention);
      const second = await a.append('room:r', entry('m2'), retention);
      expect(first.status === 'appended' && first.entry.offset).toBe(1);
      expect(second.status === 'appended' && second.entry.offset).toBe(2);
      expect(await a.read('room:r', 0, 10)).toEqual({ info: expect.objectContaining({ firstOffset: 3, lastOffset: 2 }), entries: [] });
    });

    it('trims by age on append and on read', async () => {
      const { a, b, clock } = world();
      const retention = { maxCount: 100, maxAgeMs: 1000 };
      await a.append('room:r', entry('old1'), retention);
      clock.advance(400);
      await a.append('room:r', entry('old2'), retention);
      clock.advance(601);
      // old1 is now 1001 ms old: gone on the next append.
      await b.append('room:r', entry('new'), retention);
      expect((await a.read('room:r', 0, 10)).entries.map((e) => e.id)).toEqual(['old2', 'new']);
      clock.advance(400);
      // old2 is 1001 ms old: gone on a read, without any append.
      const { info, entries } = await b.read('room:r', 0, 10);
      expect(entries.map((e) => e.id)).toEqual(['new']);
      expect(info).toMatchObject({ firstOffset: 3, lastOffset: 3 });
      clock.advance(1000);
      expect(await a.info('room:r')).toMatchObject({ firstOffset: 4, lastOffset: 3 });
    });

    it('starts a new epoch with offsets from 1 when a stream is deleted', async () => {
      const { a, b } = world();
      const first = await a.append('session:x', entry('m1'), KEEP_ALL);
      await a.append('session:x', entry('m2'), KEEP_ALL);
      await b.deleteStream('session:x');
      const info = await a.info('session:x');
      expect(info).toMatchObject({ firstOffset: 1, lastOffset: 0 });
      expect(first.status === 'appended' && first.entry.epoch).not.toBe(info.epoch);
      const again = await b.append('session:x', entry('m3'), KEEP_ALL);
      expect(again.status === 'appended' && again.entry).toMatchObject({ offset: 1, epoch: info.epoch });
      await a.deleteStream('session:never');
    });

    it('appends with dedup atomically: duplicate, out of order and unknown sessions append nothing', async () => {
      const { a, b } = world();
      await a.createSession(session('s1', { lastSeq: 0 }));
      const ok = await a.append('room:r', entry('m1', 1, 's1'), KEEP_ALL, { sessionId: 's1', seq: 1 });
      expect(ok).toMatchObject({ status: 'appended', entry: { offset: 1 } });
      expect(await b.append('room:r', entry('m1', 1, 's1'), KEEP_ALL, { sessionId: 's1', seq: 1 })).toEqual({ status: 'duplicate', lastSeq: 1 });
      expect(await b.append('room:r', entry('m3', 3, 's1'), KEEP_ALL, { sessionId: 's1', seq: 3 })).toEqual({ status: 'out_of_order', lastSeq: 1 });
      expect(await b.append('room:r', entry('m', 0, 'zz'), KEEP_ALL, { sessionId: 'zz', seq: 1 })).toEqual({ status: 'no_session' });
      expect(await a.info('room:r')).toMatchObject({ lastOffset: 1 });
      expect((await a.getSession('s1'))!.lastSeq).toBe(1);
      expect(await b.append('room:r', entry('m2', 2, 's1'), KEEP_ALL, { sessionId: 's1', seq: 2 })).toMatchObject({ status: 'appended', entry: { offset: 2 } });
      expect((await a.getSession('s1'))!.lastSeq).toBe(2);
    });

    it('appends exactly one of several racing writes of the same seq', async () => {
      const { a, b } = world();
      await a.createSession(session('s1'));
      const stores = [a, b, a, b, a, b];
      const results = await Promise.all(stores.map((store) => store.append('room:r', entry('m1', 1, 's1'), KEEP_ALL, { sessionId: 's1', seq: 1 })));
      expect(results.filter((r) => r.status === 'appended')).toHaveLength(1);
      expect((await a.read('room:r', 0, 10)).entries).toHaveLength(1);
    });

    it('gives racing appends from two instances distinct consecutive offsets', async () => {
      const { a, b } = world();
      const writes = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).append('room:r', entry(`m${i}`), KEEP_ALL));
      const results = await Promise.all(writes);
      const offsets = results.map((r) => (r.status === 'appended' ? r.entry.offset : -1)).sort((x, y) => x - y);
      expect(offsets).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      const read = await a.read('room:r', 0, 100);
      expect(read.entries.map((e) => e.id).sort()).toEqual(results.map((r) => (r.status === 'appended' ? r.entry.id : '')).sort());
    });
  });

  describe('subscriptions', () => {
    it('delivers live entries from every instance to every subscriber, in offset order', async () => {
      const { a, b } = world();
      const onA: StreamEntry[] = [];
      const onB: StreamEntry[] = [];
      await a.append('room:r', entry('before'), KEEP_ALL);
      await a.subscribe('room:r', (e) => onA.push(e));
      await b.subscribe('room:r', (e) => onB.push(e));
      const writes = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? b : a).append('room:r', entry(`m${i}`), KEEP_ALL));
      const results = await Promise.all(writes);
      await until(() => onA.length === 40 && onB.length === 40, 'all entries on both instances');
      const expected = Array.from({ length: 40 }, (_, i) => i + 2);
      expect(onA.map((e) => e.offset)).toEqual(expected);
      expect(onB.map((e) => e.offset)).toEqual(expected);
      const stored = (await a.read('room:r', 1, 100)).entries;
      expect(onA).toEqual(stored);
      expect(onB).toEqual(stored);
      expect(results.every((r) => r.status === 'appended')).toBe(true);
    });

    it('keeps offset order when a listener appends from inside its callback', async () => {
      const { a, b } = world();
      const seen: string[] = [];
      await a.subscribe('room:r', (e) => {
        seen.push(`x${e.offset}`);
        if (e.id.startsWith('root')) void a.append('room:r', entry(`echo-${e.id}`), KEEP_ALL);
      });
      await b.subscribe('room:r', (e) => seen.push(`y${e.offset}`));
      await a.append('room:r', entry('root1'), KEEP_ALL);
      await until(() => seen.length === 4, 'root and echo on both listeners');
      const xs = seen.filter((s) => s.startsWith('x'));
      const ys = seen.filter((s) => s.startsWith('y'));
      expect(xs).toEqual(['x1', 'x2']);
      expect(ys).toEqual(['y1', 'y2']);
    });

    it('stops delivering to an unsubscribed listener, and only that one', async () => {
      const { a, b } = world();
      const gone: number[] = [];
      const kept: number[] = [];
      const goneListener = (e: StreamEntry): void => { gone.push(e.offset); };
      await a.subscribe('room:r', goneListener);
      await a.subscribe('room:r', (e) => kept.push(e.offset));
      await b.append('room:r', entry('m1'), KEEP_ALL);
      await until(() => gone.length === 1 && kept.length === 1, 'first entry');
      await a.unsubscribe('room:r', goneListener);
      await b.append('room:r', entry('m2'), KEEP_ALL);
      await until(() => kept.length === 2, 'second entry on the kept listener');
      expect(gone).toEqual([1]);
      expect(kept).toEqual([1, 2]);
    });

    it('does not deliver entries of other streams', async () => {
      const { a, b } = world();
      const seen: string[] = [];
      await a.subscribe('room:one', (e) => seen.push(`${e.stream}#${e.offset}`));
      await b.append('room:two', entry('m'), KEEP_ALL);
      await b.append('room:one', entry('m'), KEEP_ALL);
      await until(() => seen.length >= 1, 'entry of room:one');
      expect(seen).toEqual(['room:one#1']);
    });
  });
}
