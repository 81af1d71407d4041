import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../helpers/cluster.js';
import { redisAvailable } from '../helpers/redis.js';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('cluster helper', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ size: 2 });
  });
  afterAll(() => cluster?.close());

  it('starts processes on distinct ports, restarts a killed one on its port, and cleans its keys', async () => {
    const [a, b] = cluster.instances;
    expect(a!.port).not.toBe(b!.port);
    expect((await cluster.health(0)).body).toMatchObject({ status: 'ok', kind: 'redis' });
    const port = a!.port;
    const pid = a!.pid;
    await cluster.kill(0);
    expect(a!.alive).toBe(false);
    await expect(fetch(`${a!.httpUrl}/healthz`)).rejects.toThrow();
    expect(await cluster.restart(0)).toBe(`ws://127.0.0.1:${port}`);
    expect(a!.pid).not.toBe(pid);
    expect((await cluster.health(0)).status).toBe(200);
    const redis = new Redis(cluster.redisUrl);
    try {
      await redis.set(`${cluster.keyPrefix}probe`, '1');
      await cluster.close();
      expect(await redis.exists(`${cluster.keyPrefix}probe`)).toBe(0);
      expect(cluster.instances.every((i) => !i.alive)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
