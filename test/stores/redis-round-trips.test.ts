/**
 * What a resume storm costs the Redis store per request: the commands of one turn leave in one
 * write, concurrent store checks (`ping`) share one PING, a subscription's bounds read is shared
 * with the caller's own bounds read right after it, and a session's direct stream stays
 * subscribed for a while after its connection left. Each saving keeps the answers exact: every
 * caller gets its own reply or failure, every listener exactly its entries.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { StreamEntry } from '../../src/server/stores/store.js';
import { KEEP_ALL, entry, session } from './conformance-context.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

const redisUp = await redisAvailable();
const base = uniquePrefix('round-trips');

afterAll(async () => {
  if (redisUp) await deleteKeys(base);
});

/** A command client whose commands are counted by name (EVALSHA by the script it runs). */
function countingClient(): { client: Redis; count: (name: string) => number; reset: () => void } {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  const counts = new Map<string, number>();
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return send(command as never, stream as never);
  }) as typeof client.sendCommand;
  return { client, count: (name) => counts.get(name) ?? 0, reset: () => counts.clear() };
}

/** Counts the system-call-level writes (`_write`, `_writev`) of a socket. */
function countWrites(socket: Socket): () => number {
  let writes = 0;
  const target = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const method of ['_write', '_writev'] as const) {
    const original = target[method].bind(socket);
    target[method] = (...args: unknown[]) => {
      writes++;
      return original(...args);
    };
  }
  return () => writes;
}

describe.skipIf(!redisUp)('RedisStore round trips', () => {
  it('sends the commands of one turn in one write, each with its own answer', async () => {
    const { client } = countingClient();
    const store = new RedisStore({ client, keyPrefix: `${base}batch:`, onError: () => undefined });
    try {
      await store.createSession(session('s1'));
      await store.ping();
      const writes = countWrites(client.stream);
      const ids = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 's1' : `missing${i}`));
      const found = await Promise.all(ids.map((id) => store.getSession(id)));
      expect(found.map((s) => s?.id ?? null)).toEqual(ids.map((id) => (id === 's1' ? 's1' : null)));
      expect(writes()).toBe(1);
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it('shares one PING between the store checks made while one is under way', async () => {
    const { client, count, reset } = countingClient();
    const store = new RedisStore({ client, keyPrefix: `${base}ping:`, onError: () => undefined });
    try {
      await store.ping();
      reset();
      await Promise.all(Array.from({ length: 20 }, () => store.ping()));
      expect(count('ping')).toBe(1);
      // Once answered, the next check asks Redis again.
      await store.ping();
      expect(count('ping')).toBe(2);
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it('fails every shared store check when Redis is unreachable, and checks again afterwards', async () => {
    // Nothing listens on port 1: the command connection never becomes ready.
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', keyPrefix: `${base}down:`, commandTimeoutMs: 200, onError: () => undefined });
    try {
      const checks = await Promise.allSettled(Array.from({ length: 5 }, () => store.ping()));
      for (const check of checks) expect(check).toMatchObject({ status: 'rejected', reason: { code: 'ERR_STORE_UNAVAILABLE' } });
      await expect(store.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    } finally {
      await store.close();
    }
  });

  it("answers the caller's bounds read right after subscribing with the subscription's own read", async () => {
    const { client, count, reset } = countingClient();
    const store = new RedisStore({ client, keyPrefix: `${base}floor:`, onError: () => undefined });
    try {
      for (let i = 1; i <= 3; i++) await store.append('session:x', entry(`m${i}`), KEEP_ALL);
      await store.ping();
      reset();
      const live: string[] = [];
      await store.subscribe('session:x', (e) => live.push(e.id));
      const info = await store.info('session:x');
      expect(info).toMatchObject({ firstOffset: 1, lastOffset: 3 });
      expect(count('evalsha') + count('eval')).toBe(1);
      // The subscription works, and its floor is the bounds read: live entries follow it.
      await store.append('session:x', entry('m4'), KEEP_ALL);
      await expect.poll(() => live).toEqual(['m4']);
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it("keeps a session's direct-stream subscription for a while after its last listener left, not a room's", async () => {
    const prefix = `${base}linger:`;
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, onError: () => undefined });
    const admin = new Redis(REDIS_URL);
    admin.on('error', () => undefined);
    const subscribers = async (stream: string): Promise<unknown> => ((await admin.call('PUBSUB', 'NUMSUB', `${prefix}entries:${stream}`)) as unknown[])[1];
    try {
      const first: string[] = [];
      const second: string[] = [];
      const room: string[] = [];
      const firstListener = (e: StreamEntry): void => void first.push(e.id);
      const roomListener = (e: StreamEntry): void => void room.push(e.id);
      await store.subscribe('session:a', firstListener);
      await store.subscribe('room:r', roomListener);
      await store.append('session:a', entry('m1'), KEEP_ALL);
      await expect.poll(() => first).toEqual(['m1']);
      await store.unsubscribe('session:a', firstListener);
      await store.unsubscribe('room:r', roomListener);
      expect(await subscribers('session:a')).toBe(1);
      expect(await subscribers('room:r')).toBe(0);
      // Published while nobody here listens. Its pub/sub copy may still be on its way when the
      // next listener subscribes, as with any shared subscription (the server's cursors drop it).
      await store.append('session:a', entry('m2'), KEEP_ALL);
      // The session resumes here: same subscription, live entries flow to the new listener only.
      await store.subscribe('session:a', (e) => second.push(e.id));
      await store.append('session:a', entry('m3'), KEEP_ALL);
      await expect.poll(() => second.at(-1)).toBe('m3');
      expect(second.filter((id) => id !== 'm2')).toEqual(['m3']);
      expect(first).toEqual(['m1']);
      expect(await subscribers('session:a')).toBe(1);
      // A session stream deleted (the session ended) while lingering is unsubscribed at once.
      await store.subscribe('session:b', firstListener);
      await store.unsubscribe('session:b', firstListener);
      expect(await subscribers('session:b')).toBe(1);
      await store.deleteStream('session:b');
      expect(await subscribers('session:b')).toBe(0);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });
});
