/**
 * Joining a room the session is already in, while the room is busy: on Redis the store's latest
 * offset can be ahead of what pub/sub has delivered to this connection, so the answer must carry
 * the connection's own position or the client skips the entries still on their way.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { WebSocketConstructor } from '../../src/client/web-socket-like.js';
import { startServer, teardown, until } from './helpers.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `rs-test-rejoin-${randomBytes(4).toString('hex')}:`;
const clients: ReconnectingWebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await teardown();
});
afterAll(async () => {
  // Delete only this run's keys.
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
});

describe('re-joining a room already joined', () => {
  it.each(['memory', 'redis'] as const)('loses nothing while the server publishes (%s)', async (kind) => {
    const server = await startServer({ ...(kind === 'redis' ? { store: { redis: url, keyPrefix } } : {}) });
    const client = new ReconnectingWebSocket(server.url, { WebSocket: WebSocket as unknown as WebSocketConstructor, storage: new MemoryStorage() });
    clients.push(client);
    client.on('error', () => {});
    const got: number[] = [];
    client.on('message', (m) => {
      if (m.room === 'r') got.push(m.data as number);
    });
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
