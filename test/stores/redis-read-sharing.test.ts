/**
 * RedisStore.read shares one script call between identical reads made in the same turn, and
 * never hands a read an answer sent before the caller asked (a replay must see every entry
 * appended before its read, since its subscription only covers what comes after).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/server/stores/redis.js';
import { KEEP_ALL, entry } from './conformance-context.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

const redisUp = await redisAvailable();
const base = uniquePrefix('read-sharing');

afterAll(async () => {
  if (redisUp) await deleteKeys(base);
});

describe.skipIf(!redisUp)('RedisStore read sharing', () => {
  it('answers identical reads of one turn alike, each with its own objects', async () => {
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: `${base}same:`, onError: () => undefined });
    try {
      for (let i = 1; i <= 3; i++) await store.append('room:r', entry(`m${i}`), KEEP_ALL);
      const reads = await Promise.all(Array.from({ length: 20 }, () => store.read('room:r', 1, 10)));
      for (const read of reads) {
        expect(read.info).toMatchObject({ firstOffset: 1, lastOffset: 3 });
        expect(read.entries.map((e) => e.id)).toEqual(['m2', 'm3']);
      }
      expect(reads[0]!.info).not.toBe(reads[1]!.info);
      expect(reads[0]!.entries).not.toBe(reads[1]!.entries);
    } finally {
      await store.close();
    }
  });

  it('never answers a read with a call sent before it was made', async () => {
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: `${base}fresh:`, onError: () => undefined });
    try {
      await store.append('room:r', entry('m1'), KEEP_ALL);
      for (let round = 0; round < 20; round++) {
        const first = store.read('room:r', 0, 100);
        // Let the first read go out, then append and read again: the second read must see it.
        await new Promise((resolve) => setImmediate(resolve));
        const appended = await store.append('room:r', entry(`x${round}`), KEEP_ALL);
        const second = await store.read('room:r', 0, 100);
        expect(appended.status).toBe('appended');
        const offset = appended.status === 'appended' ? appended.entry.offset : -1;
        expect(second.info.lastOffset).toBeGreaterThanOrEqual(offset);
        expect(second.entries.map((e) => e.offset)).toContain(offset);
        await first;
      }
    } finally {
      await store.close();
    }
  });
});
