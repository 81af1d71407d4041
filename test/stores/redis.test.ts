import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { StreamEntry } from '../../src/server/stores/store.js';
import { storeConformance } from './conformance.js';
import { KEEP_ALL, entry, until } from './conformance-context.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

const redisUp = await redisAvailable();
const base = uniquePrefix('stores');

afterAll(async () => {
  if (redisUp) await deleteKeys(base);
});

describe.skipIf(!redisUp)('RedisStore on a real Redis', () => {
  storeConformance(
    'RedisStore',
    async ({ namespace, now }) => {
      const store = new RedisStore({ url: REDIS_URL, keyPrefix: `${base}${namespace}:`, now, onError: () => undefined });
      await store.ping();
      return store;
    },
    { sharedAcrossInstances: true, propertyRuns: 20 },
  );

  it('deletes only its own keys when cleaned up', async () => {
    const prefix = `${base}cleanup:`;
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, onError: () => undefined });
    await store.append('room:r', entry('m'), KEEP_ALL);
    expect(await deleteKeys(prefix)).toBe(2);
    await store.close();
  });

  it('leaves no Redis subscription behind when an unsubscribe overtakes its subscribe', async () => {
    const prefix = `${base}race:`;
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, onError: () => undefined });
    const admin = new Redis(REDIS_URL);
    admin.on('error', () => undefined);
    try {
      await store.ping();
      const listener = (): void => undefined;
      for (let i = 0; i < 5; i++) {
        const subscribed = store.subscribe('room:race', listener);
        await store.unsubscribe('room:race', listener);
        await subscribed;
      }
      await store.ping();
      expect(await admin.call('PUBSUB', 'NUMSUB', `${prefix}entries:room:race`)).toEqual([`${prefix}entries:room:race`, 0]);
    } finally {
      admin.disconnect();
      await store.close();
    }
  });

  it('leaves no sockets or timers behind after close', async () => {
    const count = (): { sockets: number; timers: number } => {
      const counts: Record<string, number> = {};
      for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
      return { sockets: counts['TCPSocketWrap'] ?? 0, timers: counts['Timeout'] ?? 0 };
    };
    const before = count();
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: `${base}handles:`, onError: () => undefined });
    await store.ping();
    await store.subscribe('room:r', () => undefined);
    await store.append('room:r', entry('m'), KEEP_ALL);
    await store.close();
    await until(() => count().sockets <= before.sockets, 'both connections closed');
    await new Promise((resolve) => setImmediate(resolve));
    const after = count();
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
    expect(after.timers).toBeLessThanOrEqual(before.timers);
  });

  it('works on a caller-supplied ioredis client and leaves it open on close', async () => {
    const client = new Redis(REDIS_URL);
    client.on('error', () => undefined);
    const store = new RedisStore({ client, keyPrefix: `${base}client:`, onError: () => undefined });
    try {
      await store.ping();
      const seen: number[] = [];
      await store.subscribe('room:r', (e) => seen.push(e.offset));
      await store.append('room:r', entry('m1'), KEEP_ALL);
      await until(() => seen.length === 1, 'the entry');
      const listenersBefore = client.listenerCount('error');
      await store.close();
      expect(await client.ping()).toBe('PONG');
      // The store detached what it added to the caller's client.
      expect(client.listenerCount('error')).toBe(listenersBefore - 1);
      expect(client.listenerCount('ready')).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('reconnects by itself after its connections are killed, resubscribes and fills what pub/sub dropped', async () => {
    const name = `rs-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const prefix = `${base}kill:`;
    const errors: Error[] = [];
    const victim = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, connectionName: name, onError: (error) => errors.push(error) });
    const other = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, onError: () => undefined });
    const admin = new Redis(REDIS_URL);
    admin.on('error', () => undefined);
    try {
      await victim.ping();
      const seen: StreamEntry[] = [];
      const versions: number[] = [];
      const control: string[] = [];
      await victim.subscribe('room:r', (e) => seen.push(e));
      await victim.subscribeState('room:s', (_scope, version) => versions.push(version));
      victim.onControl((m) => control.push(m.sessionId));
      await other.append('room:r', entry('m1'), KEEP_ALL);
      await until(() => seen.length === 1, 'm1 before the kill');

      // Kill exactly this store's two connections (found by their unique name).
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      const ids = list.split('\n').filter((line) => line.includes(` name=${name} `)).map((line) => /id=(\d+)/.exec(line)![1]!);
      expect(ids).toHaveLength(2);
      for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
      // Published while the victim is (very likely) still reconnecting: pub/sub drops these for it.
      await other.append('room:r', entry('m2'), KEEP_ALL);
      await other.append('room:r', entry('m3'), KEEP_ALL);
      await other.appendStateEvent('room:s', 0, { encoding: 'json', data: '1' });

      await until(() => seen.length >= 3, 'm2 and m3 after the reconnect', 15_000);
      await until(() => versions.includes(1), 'the state version published during the outage', 15_000);
      await victim.ping();
      await other.append('room:r', entry('m4'), KEEP_ALL);
      await other.publishControl({ kind: 'end', sessionId: 'after-restart' });
      await until(() => seen.length >= 4 && control.length >= 1, 'live traffic after the reconnect', 15_000);
      expect(seen.map((e) => [e.offset, e.id])).toEqual([[1, 'm1'], [2, 'm2'], [3, 'm3'], [4, 'm4']]);
      expect(control).toEqual(['after-restart']);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
      await victim.close();
      await other.close();
    }
  });
});

describe('RedisStore without Redis', () => {
  it('refuses invalid options with precise messages', () => {
    expect(() => new RedisStore({ commandTimeoutMs: -5 })).toThrow('options.commandTimeoutMs must be a non-negative integer');
    // @ts-expect-error: wrong type on purpose
    expect(() => new RedisStore({ client: {} })).toThrow('options.client must be an ioredis Redis instance');
  });

  it('fails fast with ERR_STORE_UNAVAILABLE when Redis is unreachable, and never throws uncaught', async () => {
    const port = await unusedPort();
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const errors: Error[] = [];
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, onError: (error) => errors.push(error), commandTimeoutMs: 1000 });
    try {
      const calls = [
        store.ping(),
        store.getSession('s'),
        store.append('room:r', entry('m'), KEEP_ALL),
        store.read('room:r', 0, 10),
        store.subscribe('room:r', () => undefined),
        store.takeExpiredSessions(Date.now(), 10),
        store.publishControl({ kind: 'end', sessionId: 's' }),
      ];
      const results = await Promise.allSettled(calls);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', closeCode: 4005 });
      }
      expect((results[0] as PromiseRejectedResult).reason.cause ?? (results[0] as PromiseRejectedResult).reason.message).toBeDefined();
      // Once it has given up a first attempt, it refuses at once instead of waiting again.
      await until(() => errors.length > 0, 'a connection error reported');
      await expect(store.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    } finally {
      await store.close();
    }
    await expect(store.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    // No reconnection timer survives close.
    await new Promise((resolve) => setImmediate(resolve));
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
