// Redis for the Redis-mode figures: one key prefix per bench run, and only those keys deleted.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when Redis answers PING within 2 s. */
export async function redisAvailable() {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Delete every key under `prefix` (SCAN + UNLINK, bounded). Returns how many were deleted. */
export async function deletePrefix(prefix) {
  if (!prefix || prefix.length < 8) throw new Error(`refusing to delete keys under a short prefix "${prefix}"`);
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    for (let i = 0; i < 100_000; i++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) deleted += await r.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    r.disconnect();
  }
  return deleted;
}

export { REDIS_URL };
