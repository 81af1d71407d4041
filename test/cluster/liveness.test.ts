/**
 * Instance liveness: sessions held by a server process that was SIGKILLed are detached by the
 * survivors once its heartbeat lapses, then expire normally (`sessionExpired` runs) unless their
 * clients resume, and a live instance's sessions are never touched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createServer } from '../../src/server/index.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { parseCli } from '../../src/server/cli.js';
import { resolveOptions } from '../../src/server/options.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import { Cluster } from '../helpers/cluster.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { Peer, until } from './peers.js';

const hasRedis = await redisAvailable();

describe('liveness options', () => {
  it('defaults to a 5 s heartbeat and a 15 s ttl, and wants the ttl above the interval', () => {
    expect(resolveOptions({})).toMatchObject({ instanceHeartbeatInterval: 5000, instanceTtl: 15_000 });
    expect(resolveOptions({ instanceHeartbeatInterval: 10_000 })).toMatchObject({ instanceTtl: 30_000 });
    expect(() => resolveOptions({ instanceHeartbeatInterval: 1000, instanceTtl: 1000 })).toThrow('options.instanceTtl must be greater than options.instanceHeartbeatInterval');
    expect(() => resolveOptions({ instanceTtl: 0 })).toThrow('options.instanceTtl must be an integer >= 2');
    expect(parseCli(['--instance-heartbeat-interval', '200', '--instance-ttl', '900'])).toMatchObject({ options: { instanceHeartbeatInterval: 200, instanceTtl: 900 } });
    expect(() => parseCli(['--instance-ttl', 'x'])).toThrow('--instance-ttl must be an integer');
  });
});

describe.skipIf(!hasRedis)('RedisStore instance liveness', () => {
  const prefix = uniquePrefix('liveness-store');
  let store: RedisStore;
  beforeAll(() => {
    store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix });
  });
  afterAll(async () => {
    await store?.close();
    await deleteKeys(prefix);
  });

  it('reports a first or lapsed heartbeat, and detaches only sessions of instances that are dead past the grace', async () => {
    expect(await store.heartbeat('alive', 60_000)).toBe(false);
    expect(await store.heartbeat('alive', 60_000)).toBe(true);
    const record = (id: string, owner: string | null) => ({ id, tokenHash: 'h', user: null, rooms: {}, positions: {}, lastSeq: 0, createdAt: 1, owner, expiresAt: null });
    await store.createSession(record('s-alive', 'alive/1'));
    await store.createSession(record('s-dead', 'dead/1'));
    await store.createSession(record('s-moved', 'dead/2'));
    // Moved to the live instance before the reclaim: not the dead one's any more.
    expect(await store.attachSession('s-moved', 'alive/2')).toBe('dead/2');
    await store.createSession(record('s-gone', 'dead/3'));
    await store.deleteSession('s-gone');

    const now = Date.now();
    // Within the grace period after it was first seen, a silent instance is not dead yet.
    expect(await store.reclaimSessions(now, 1000, 60_000, 100)).toEqual([]);
    expect(await store.reclaimSessions(now + 1, 1000, 0, 100)).toEqual(['s-dead']);
    // Each id to one caller.
    expect(await store.reclaimSessions(now + 2, 1000, 0, 100)).toEqual([]);
    expect(await store.getSession('s-dead')).toMatchObject({ owner: null, expiresAt: now + 1 + 1000 });
    expect(await store.getSession('s-alive')).toMatchObject({ owner: 'alive/1', expiresAt: null });
    expect(await store.getSession('s-moved')).toMatchObject({ owner: 'alive/2', expiresAt: null });
    expect(await store.takeExpiredSessions(now + 1 + 1000, 10)).toEqual(['s-dead']);
    await expect(store.heartbeat('a/b', 1000)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('reclaims the sessions of a dead instance in batches, each id once', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `many-${i}`);
    for (const id of ids) await store.createSession({ id, tokenHash: 'h', user: null, rooms: {}, positions: {}, lastSeq: 0, createdAt: 1, owner: `many/${id}`, expiresAt: null });
    const now = Date.now();
    const batches = [];
    for (let i = 0; i < 4; i++) batches.push(await store.reclaimSessions(now, 1000, 0, 100));
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50, 0]);
    const all = batches.flat();
    expect(new Set(all).size).toBe(250);
    expect(new Set(all)).toEqual(new Set(ids));
  });
});

describe.skipIf(!hasRedis)('sessions of a killed server process', () => {
  let cluster: Cluster;
  let survivor: ReferenceServer | undefined;
  const peers: Peer[] = [];
  beforeAll(async () => {
    cluster = await Cluster.start({ size: 1, args: ['--instance-heartbeat-interval', '100', '--instance-ttl', '1000'] });
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.drop();
    await survivor?.close();
    survivor = undefined;
  });
  afterAll(() => cluster?.close());

  it('are detached by a survivor once the heartbeat lapses and expire with sessionExpired; a resumed one lives on', async () => {
    const ended: Array<{ sessionId: string; reason: string }> = [];
    survivor = await createServer({
      port: 0,
      store: { redis: cluster.redisUrl, keyPrefix: cluster.keyPrefix },
      sessionTtl: 300,
      sweepInterval: 50,
      instanceHeartbeatInterval: 100,
      instanceTtl: 1000,
      sessionExpired: (sessionId, _record, reason) => void ended.push({ sessionId, reason }),
    });
    let target = cluster.at(0).url;
    const gone = new Peer('gone', cluster.at(0).url);
    const back = new Peer('back', () => target);
    peers.push(gone, back);
    await Promise.all([gone.ws.join('room'), back.ws.join('room')]);
    const goneId = gone.ws.sessionId!;
    const backId = back.ws.sessionId!;

    // While the holder is alive, its sessions stay attached however long the survivor looks
    // (longer than the instance ttl here).
    const holder = (await survivor.store.getSession(goneId))!.owner;
    for (let i = 0; i < 15; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await survivor.store.getSession(goneId)).toMatchObject({ owner: holder, expiresAt: null });
    expect(ended).toEqual([]);

    target = survivor.url;
    await cluster.kill(0, 'SIGKILL');
    // One client never comes back; the other resumes on the survivor.
    gone.drop();
    await until(() => back.opens.length === 2, 'the second client to resume on the survivor');
    expect(back.opens[1]).toMatchObject({ recovered: true, sessionId: backId });

    await until(() => ended.some((e) => e.sessionId === goneId), 'sessionExpired for the abandoned session', 15_000);
    expect(ended).toEqual([{ sessionId: goneId, reason: 'expired' }]);
    expect(await survivor.store.getSession(goneId)).toBeNull();
    // The resumed session is untouched and works.
    const ack = await back.ws.send({ still: 'here' }, { room: 'room' });
    expect(ack).toMatchObject({ offset: expect.any(Number) });
    expect(await survivor.store.getSession(backId)).toMatchObject({ expiresAt: null });
  });
});

describe.skipIf(!hasRedis)('an instance that looked dead', () => {
  const prefix = uniquePrefix('liveness-lapse');
  const servers: ReferenceServer[] = [];
  const peers: Peer[] = [];
  afterAll(async () => {
    for (const peer of peers) peer.drop();
    await Promise.all(servers.map((s) => s.close()));
    await deleteKeys(prefix);
  });

  it('attaches its sessions again when its heartbeat finds that its liveness lapsed and they were reclaimed', async () => {
    const server = await createServer({ port: 0, store: { redis: REDIS_URL, keyPrefix: prefix }, instanceHeartbeatInterval: 200, instanceTtl: 60_000 });
    servers.push(server);
    const client = new Peer('client', server.url);
    peers.push(client);
    await client.ws.join('room');
    const sessionId = client.ws.sessionId!;
    const owner = (await server.store.getSession(sessionId))!.owner;

    // What another instance does when this one's key lapsed (it was cut from Redis for too long):
    // the key is gone, a reclaim detaches the session. Repeated until no beat slipped in between.
    const redis = new Redis(REDIS_URL);
    const other = new RedisStore({ url: REDIS_URL, keyPrefix: prefix });
    try {
      let reclaimed: string[] = [];
      for (let i = 0; i < 20 && reclaimed.length === 0; i++) {
        await redis.del(`${prefix}instance:${server.instanceId}`);
        reclaimed = await other.reclaimSessions(Date.now(), 60_000, 0, 100);
      }
      expect(reclaimed).toEqual([sessionId]);
      expect(await other.getSession(sessionId)).toMatchObject({ owner: null });
      await until(async () => (await other.getSession(sessionId))?.owner === owner, 'the instance to attach its session again');
    } finally {
      redis.disconnect();
      await other.close();
    }
    expect(await server.store.getSession(sessionId)).toMatchObject({ owner, expiresAt: null });
    // The connection was never disturbed.
    expect(client.opens).toHaveLength(1);
    expect(await client.ws.send({ still: 'attached' }, { room: 'room' })).toMatchObject({ offset: 1 });
  });
});
