/**
 * Measures what idle streams leave behind: N rooms each get a few messages, then nobody touches
 * them. Reports Redis keys and bytes (`MEMORY USAGE ... SAMPLES 0`) under a unique prefix, and the
 * `MemoryStore`'s heap, right after the writes and once the age limit and `streamIdleTtl` passed.
 * Not a test; run it by hand (`node --expose-gc`) and copy the numbers into docs/scaling.md:
 *
 *   npx esbuild test/stores/measure-idle-streams.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=/tmp/measure-idle.mjs && node --expose-gc /tmp/measure-idle.mjs
 *
 * It writes under a unique prefix and deletes exactly those keys afterwards.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/server/stores/redis.js';
import { MemoryStore } from '../../src/server/stores/memory.js';
import type { Retention } from '../../src/server/stores/store.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../helpers/redis.js';

const ROOMS = Number(process.env['ROOMS'] ?? 2000);
const MESSAGES = 3;
const AGE_MS = Number(process.env['AGE_MS'] ?? 5000);
const IDLE_MS = Number(process.env['IDLE_MS'] ?? 10_000);
const retention: Retention = { maxCount: 100, maxAgeMs: AGE_MS, idleTtlMs: IDLE_MS };
const data = (i: number): { text: string; n: number } => ({ text: 'x'.repeat(100), n: i });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function redisKeys(admin: Redis, prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys += found.length;
    for (const key of found) bytes += Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  } while (cursor !== '0');
  return { keys, bytes };
}

async function measureRedis(): Promise<void> {
  const prefix = uniquePrefix('idle');
  const admin = new Redis(REDIS_URL);
  const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, streamIdleTtlMs: IDLE_MS, expiryMarginMs: 0 });
  try {
    for (let r = 0; r < ROOMS; r++) {
      for (let m = 0; m < MESSAGES; m++) await store.append(`room:r${r}`, { id: `m${m}`, from: null, user: null, data: data(m) }, retention);
    }
    const written = await redisKeys(admin, prefix);
    await sleep(AGE_MS + 500);
    const aged = await redisKeys(admin, prefix);
    await sleep(IDLE_MS - AGE_MS + 500);
    const idle = await redisKeys(admin, prefix);
    console.log(`redis, ${ROOMS} rooms x ${MESSAGES} msgs, maxAgeMs ${AGE_MS}, idle ${IDLE_MS}: after writes ${written.keys} keys / ${written.bytes} B; after age limit ${aged.keys} keys / ${aged.bytes} B; after idle ttl ${idle.keys} keys / ${idle.bytes} B`);
  } finally {
    await store.close();
    admin.disconnect();
    await deleteKeys(prefix);
  }
}

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function measureMemory(): Promise<void> {
  const rooms = ROOMS * 10;
  const before = heap();
  const store = new MemoryStore({ sweepIntervalMs: 100, streamIdleTtlMs: IDLE_MS });
  for (let r = 0; r < rooms; r++) {
    for (let m = 0; m < MESSAGES; m++) await store.append(`room:r${r}`, { id: `m${m}`, from: null, user: null, data: data(m) }, retention);
  }
  const written = heap() - before;
  await sleep(AGE_MS + 300);
  const aged = heap() - before;
  await sleep(IDLE_MS - AGE_MS + 300);
  const idle = heap() - before;
  const streams = store.streamCount;
  console.log(`memory, ${rooms} rooms x ${MESSAGES} msgs: heap after writes +${(written / 1e6).toFixed(1)} MB; after age limit +${(aged / 1e6).toFixed(1)} MB; after idle ttl +${(idle / 1e6).toFixed(1)} MB (streams held: ${streams})`);
  await store.close();
}

await measureRedis();
await measureMemory();
