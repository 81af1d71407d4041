/**
 * The Redis store keeps the entries it read, so the next read of the same range (every session
 * of a room replaying the same missed entries after a storm) fetches only the stream's bounds.
 * A kept entry answers only when fresh bounds say its range is still there, in the same epoch.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { EntryCache } from '../../src/server/stores/redis-entry-cache.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { StreamEntry } from '../../src/server/stores/store.js';
import { KEEP_ALL, entry } from './conformance-context.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

const redisUp = await redisAvailable();
const base = uniquePrefix('entry-cache');

afterAll(async () => {
  if (redisUp) await deleteKeys(base);
});

function stored(stream: string, epoch: string, offset: number): StreamEntry {
  return { id: `m${offset}`, from: null, user: null, data: { n: offset }, stream, epoch, offset, ts: 0 };
}
const range = (stream: string, epoch: string, from: number, to: number): StreamEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => stored(stream, epoch, from + i));
const ids = (entries: StreamEntry[] | undefined): string[] | undefined => entries?.map((e) => e.id);

describe('EntryCache', () => {
  it('answers a range only when every entry of it is kept in the epoch of the bounds', () => {
    const cache = new EntryCache();
    cache.keep('room:a', range('room:a', 'E', 1, 5), 50);
    expect(cache.holds('room:a', 1)).toBe(true);
    expect(ids(cache.covering('room:a', { epoch: 'E', firstOffset: 1, lastOffset: 5 }, 0, 10))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(ids(cache.covering('room:a', { epoch: 'E', firstOffset: 1, lastOffset: 5 }, 2, 2))).toEqual(['m3', 'm4']);
    // Nothing past the bounds, even when kept.
    expect(ids(cache.covering('room:a', { epoch: 'E', firstOffset: 1, lastOffset: 3 }, 1, 10))).toEqual(['m2', 'm3']);
    // An entry appended since is not kept: the read must go to the store.
    expect(cache.covering('room:a', { epoch: 'E', firstOffset: 1, lastOffset: 6 }, 0, 10)).toBeUndefined();
    // Another epoch (history lost and restarted): nothing kept counts.
    expect(cache.covering('room:a', { epoch: 'F', firstOffset: 1, lastOffset: 5 }, 0, 10)).toBeUndefined();
    // Trimmed past the start of the range: the store reports the hole.
    expect(cache.covering('room:a', { epoch: 'E', firstOffset: 3, lastOffset: 5 }, 0, 10)).toBeUndefined();
    expect(cache.covering('room:b', { epoch: 'E', firstOffset: 1, lastOffset: 5 }, 0, 10)).toBeUndefined();
  });

  it('drops the oldest entries past its entry and size budgets, and a forgotten stream at once', () => {
    const cache = new EntryCache(4, 1000);
    cache.keep('room:a', range('room:a', 'E', 1, 3), 30);
    cache.keep('room:b', range('room:b', 'E', 1, 2), 20);
    expect(cache.size).toBe(4);
    expect(cache.holds('room:a', 1)).toBe(false);
    expect(cache.holds('room:a', 2)).toBe(true);
    // A read larger than the whole budget is not kept and evicts nothing.
    cache.keep('room:c', range('room:c', 'E', 1, 1), 2000);
    expect(cache.holds('room:c', 1)).toBe(false);
    expect(cache.size).toBe(4);
    // 40 + 990 characters: the oldest go until the rest fits in 1000.
    cache.keep('room:c', range('room:c', 'E', 1, 1), 990);
    expect(cache.size).toBe(2);
    expect([cache.holds('room:b', 1), cache.holds('room:b', 2), cache.holds('room:c', 1)]).toEqual([false, true, true]);
    cache.forget('room:c');
    expect(cache.size).toBe(1);
    expect(cache.holds('room:c', 1)).toBe(false);
  });
});

/** A command client that records the start and limit arguments of every READ script call. */
function recordingClient(): { client: Redis; reads: Array<[number, number]> } {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  const reads: Array<[number, number]> = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string; args: unknown[] }, stream?: unknown) => {
    // EVALSHA sha 2 streamKey metaKey now epoch after limit ...: READ is the script with 2 keys and a limit.
    if ((command.name === 'evalsha' || command.name === 'eval') && String(command.args[2]).includes(':stream:') && Number(command.args[1]) === 2) {
      reads.push([Number(command.args[6]), Number(command.args[7])]);
    }
    return send(command as never, stream as never);
  }) as typeof client.sendCommand;
  return { client, reads };
}

describe.skipIf(!redisUp)('RedisStore entry cache', () => {
  it('reads a range again with one call for what follows the kept entries, and the same entries', async () => {
    const { client, reads } = recordingClient();
    const store = new RedisStore({ client, keyPrefix: `${base}again:`, onError: () => undefined });
    try {
      for (let i = 1; i <= 5; i++) await store.append('room:r', entry(`m${i}`), KEEP_ALL);
      const first = await store.read('room:r', 1, 200);
      reads.length = 0;
      const second = await store.read('room:r', 1, 200);
      expect(second.entries.map((e) => e.id)).toEqual(['m2', 'm3', 'm4', 'm5']);
      expect(second.entries).toEqual(first.entries);
      expect(second.info).toEqual(first.info);
      // Offsets 2..5 are kept: only what follows them is read (and the bounds with it).
      expect(reads).toEqual([[5, 196]]);
      // An entry appended since: still one call, which brings it.
      reads.length = 0;
      await store.append('room:r', entry('m6'), KEEP_ALL);
      const third = await store.read('room:r', 1, 200);
      expect(third.entries.map((e) => e.id)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
      expect(third.info.lastOffset).toBe(6);
      expect(reads).toEqual([[5, 196]]);
      // A read within the kept entries: a bounds read, shared with every other of its turn.
      reads.length = 0;
      const [within, bounds] = await Promise.all([store.read('room:r', 2, 2), store.info('room:r')]);
      expect(within.entries.map((e) => e.id)).toEqual(['m3', 'm4']);
      expect(bounds).toEqual(third.info);
      expect(reads).toEqual([[0, 0]]);
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it('answers from kept entries with no call when the caller holds bounds that cover them', async () => {
    const { client, reads } = recordingClient();
    const store = new RedisStore({ client, keyPrefix: `${base}known:`, onError: () => undefined });
    try {
      for (let i = 1; i <= 5; i++) await store.append('room:k', entry(`m${i}`), KEEP_ALL);
      await store.read('room:k', 0, 200);
      const known = await store.info('room:k');
      reads.length = 0;
      const replay = await store.read('room:k', 2, 200, known);
      expect(replay.entries.map((e) => e.id)).toEqual(['m3', 'm4', 'm5']);
      expect(replay.info).toEqual(known);
      expect(reads).toEqual([]);
      // Bounds the kept entries do not cover (appended since, or another epoch): read from Redis.
      await store.append('room:k', entry('m6'), KEEP_ALL);
      const newer = await store.info('room:k');
      reads.length = 0;
      expect((await store.read('room:k', 2, 200, newer)).entries.map((e) => e.id)).toEqual(['m3', 'm4', 'm5', 'm6']);
      expect(reads).toEqual([[5, 197]]);
      reads.length = 0;
      const other = await store.read('room:k', 2, 200, { ...newer, epoch: 'another' });
      expect(other.entries.map((e) => e.id)).toEqual(['m3', 'm4', 'm5', 'm6']);
      expect(other.info.epoch).toBe(newer.epoch);
      expect(reads.length).toBe(1);
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it('never answers with kept entries that history no longer holds (trimmed, or the stream recreated elsewhere)', async () => {
    const keyPrefix = `${base}stale:`;
    const store = new RedisStore({ url: REDIS_URL, keyPrefix, onError: () => undefined });
    const other = new RedisStore({ url: REDIS_URL, keyPrefix, onError: () => undefined });
    try {
      for (let i = 1; i <= 5; i++) await store.append('room:t', entry(`m${i}`), KEEP_ALL);
      await store.read('room:t', 0, 200);
      // Trimmed to the last 2 by a later append's retention.
      await store.append('room:t', entry('m6'), { maxCount: 2, maxAgeMs: KEEP_ALL.maxAgeMs });
      const trimmed = await store.read('room:t', 0, 200);
      expect(trimmed.info.firstOffset).toBe(5);
      expect(trimmed.entries.map((e) => e.id)).toEqual(['m5', 'm6']);

      for (let i = 1; i <= 3; i++) await store.append('room:u', entry(`old${i}`), KEEP_ALL);
      const before = await store.read('room:u', 0, 200);
      // Deleted and written again by another instance: a new epoch, other entries at the same offsets.
      await other.deleteStream('room:u');
      for (let i = 1; i <= 3; i++) await other.append('room:u', entry(`new${i}`), KEEP_ALL);
      const after = await store.read('room:u', 0, 200);
      expect(after.info.epoch).not.toBe(before.info.epoch);
      expect(after.entries.map((e) => e.id)).toEqual(['new1', 'new2', 'new3']);
    } finally {
      await store.close();
      await other.close();
    }
  });
});
