/**
 * Instance liveness: sessions held by a server process that was SIGKILLed are detached by the
 * survivors once its heartbeat lapses, then expire normally (`sessionExpired` runs) unless their
 * clients resume, and a live instance's sessions are never touched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import { Cluster } from '../helpers/cluster.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { Peer, until } from './peers.js';

const hasRedis = await redisAvailable();

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
});

describe.skipIf(!hasRedis)('sessions of a killed server process', () => {
  let cluster: Cluster;
  let survivor: ReferenceServer | undefined;
  const peers: Peer[] = [];
  beforeAll(async () => {
    cluster = await Cluster.start({ size: 1, args: ['--instance-heartbeat-interval', '100', '--instance-ttl', '600'] });
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
      instanceTtl: 600,
      sessionExpired: (sessionId, _record, reason) => void ended.push({ sessionId, reason }),
    });
    let target = cluster.at(0).url;
    const gone = new Peer('gone', cluster.at(0).url);
    const back = new Peer('back', () => target);
    peers.push(gone, back);
    await Promise.all([gone.ws.join('room'), back.ws.join('room')]);
    const goneId = gone.ws.sessionId!;
    const backId = back.ws.sessionId!;

    // While the holder is alive, its sessions stay attached however long the survivor looks.
    const holder = (await survivor.store.getSession(goneId))!.owner;
    for (let i = 0; i < 12; i++) await new Promise((resolve) => setTimeout(resolve, 100));
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
