/**
 * Joining a room the session is already in, while the room is busy: on Redis the store's latest
 * offset can be ahead of what pub/sub has delivered to this connection, so the answer must carry
 * the connection's own position or the client skips the entries still on their way.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { startServer, teardown, until, realClient, roomLog } from './helpers.js';

const url = REDIS_URL;
const keyPrefix = uniquePrefix('rejoin');
// Skipped loudly when Redis is unreachable, unless REQUIRE_REDIS=1 (CI), which fails instead.
const redisUp = await redisAvailable();
afterEach(teardown);
afterAll(async () => {
  if (redisUp) await deleteKeys(keyPrefix);
});

describe('re-joining a room already joined', () => {
  it.each(redisUp ? (['memory', 'redis'] as const) : (['memory'] as const))('loses nothing while the server publishes (%s)', async (kind) => {
    const server = await startServer({ ...(kind === 'redis' ? { store: { redis: url, keyPrefix } } : {}) });
    const client = realClient(server.url);
    const { got } = roomLog<number>(client, 'r');
    await client.join('r');
    const total = 1000;
    const publish = (async () => {
      for (let i = 1; i <= total; i++) {
        await server.publish('r', i);
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    const rejoin = (async () => {
      for (let i = 0; i < 100; i++) await client.join('r');
    })();
    await Promise.all([publish, rejoin]);
    await until(() => got.length >= total, `${total} messages (have ${got.length})`, 10_000);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
