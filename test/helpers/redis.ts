/**
 * Real Redis for tests: where it is, whether it answers, a unique key prefix per run, and
 * cleanup of exactly this run's keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let reachable: Promise<boolean> | undefined;

/**
 * Whether Redis answers PING (checked once per test process). When it does not: throws if
 * `REQUIRE_REDIS=1` (CI must not silently skip), otherwise warns loudly and returns false.
 */
export function redisAvailable(): Promise<boolean> {
  reachable ??= (async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      if (process.env['REQUIRE_REDIS'] === '1') throw new Error(`REQUIRE_REDIS=1 but Redis at ${REDIS_URL} is unreachable: ${why}`);
      const bar = '!'.repeat(78);
      console.warn(`\n${bar}\n!! Redis at ${REDIS_URL} is unreachable (${why}).\n!! SKIPPING the Redis test suites. Set REQUIRE_REDIS=1 to make this a failure.\n${bar}\n`);
      return false;
    } finally {
      probe.disconnect();
    }
  })();
  return reachable;
}

/** A key prefix no other run (or CI job) on this Redis uses. */
export function uniquePrefix(label: string): string {
  return `rs-test:${process.pid}-${randomBytes(4).toString('hex')}:${label}:`;
}

/** Deletes every key under `prefix` (and nothing else), with SCAN MATCH. Returns how many. */
export async function deleteKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
