/**
 * Measures what the Redis store costs in Redis memory, with `MEMORY USAGE <key> SAMPLES 0`
 * (exact: every element counted). Not a test; run it by hand and copy the numbers into
 * docs/scaling.md:
 *
 *   npx esbuild test/stores/measure-redis-memory.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=/tmp/measure.mjs && node /tmp/measure.mjs
 *
 * It writes under a unique prefix and deletes exactly those keys afterwards.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/server/stores/redis.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('measure');
const admin = new Redis(REDIS_URL);
const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix });
const retention = { maxCount: 1_000_000, maxAgeMs: 86_400_000 };

async function usage(key: string): Promise<number> {
  return Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}

/** A chat-like message: ~`size` bytes of text plus a small envelope. */
function data(size: number, i: number): { text: string; n: number } {
  return { text: 'x'.repeat(size), n: i };
}

try {
  console.log(`redis ${((await admin.info('server')).match(/redis_version:(\S+)/) ?? [])[1]} at ${REDIS_URL}`);
  for (const size of [16, 100, 1000]) {
    const stream = `room:measure-${size}`;
    const points: Array<[number, number]> = [];
    let n = 0;
    for (const target of [1000, 11000]) {
      for (; n < target; n++) {
        await store.append(stream, { id: `m-${n.toString(36).padStart(8, '0')}`, from: 'AbCdEfGhIjKlMnOpQrStUv', user: 'user-1234', data: data(size, n) }, retention);
      }
      points.push([target, await usage(`${prefix}stream:${stream}`)]);
    }
    const [[n1, b1], [n2, b2]] = points as [[number, number], [number, number]];
    const perEntry = (b2 - b1) / (n2 - n1);
    const body = JSON.stringify({ id: 'm-00000000', from: 'AbCdEfGhIjKlMnOpQrStUv', user: 'user-1234', data: data(size, 12345) }).length;
    console.log(`stream entry, data text ${size} B (stored body ${body} B): ${perEntry.toFixed(1)} B/entry (${n1}: ${b1} B, ${n2}: ${b2} B)`);
  }
  const session = {
    id: 'AbCdEfGhIjKlMnOpQrStUv',
    tokenHash: 'f'.repeat(64),
    user: 'user-1234',
    rooms: { lobby: { epoch: 'AbCdEfGhIjk', offset: 1234 }, support: { epoch: 'AbCdEfGhIjk', offset: 56 } },
    positions: { 'room:lobby': { epoch: 'AbCdEfGhIjk', offset: 1234 }, 'room:support': { epoch: 'AbCdEfGhIjk', offset: 56 }, 'session:AbCdEfGhIjKlMnOpQrStUv': { epoch: 'AbCdEfGhIjk', offset: 3 } },
    lastSeq: 4567,
    createdAt: Date.now(),
    owner: 'instance-abcdef/conn-12345',
    expiresAt: null,
  };
  await store.createSession(session);
  console.log(`session hash (2 rooms, 3 positions): ${await usage(`${prefix}session:${session.id}`)} B`);
  await store.info('room:measure-16');
  console.log(`stream meta hash: ${await usage(`${prefix}stream-meta:room:measure-16`)} B`);
  for (let v = 0; v < 1000; v++) await store.appendStateEvent('room:state', v, { encoding: 'json', data: JSON.stringify([{ op: 'replace', path: '/count', value: v }]) });
  console.log(`state events, ~45 B patch each: ${((await usage(`${prefix}state-events:room:state`)) / 1000).toFixed(1)} B/event over 1000`);
} finally {
  await store.close();
  console.log(`cleaned up ${await deleteKeys(prefix)} keys`);
  admin.disconnect();
}
