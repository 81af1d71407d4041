import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/server/stores/redis.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

const url = REDIS_URL;
const keyPrefix = uniquePrefix('server');
// Skipped loudly when Redis is unreachable, unless REQUIRE_REDIS=1 (CI), which fails instead.
const redisUp = await redisAvailable();

afterEach(teardown);
afterAll(async () => {
  if (redisUp) await deleteKeys(keyPrefix);
});

describe.skipIf(!redisUp)('two server instances sharing Redis', () => {
  it('fans out across instances, replays after a cut on the other instance, and takes over across instances', async () => {
    const a = await startServer({ store: { redis: url, keyPrefix } });
    const b = await startServer({ store: { redis: url, keyPrefix } });
    expect(a.store.kind).toBe('redis');
    const { client: onA, session } = await connectNew(a, ['shared']);
    const { client: onB } = await connectNew(b, ['shared']);
    onA.send({ type: 'MESSAGE', seq: 1, id: 'from-a', room: 'shared', data: 1 });
    expect((await onA.next('ACK')).offset).toBe(1);
    expect((await onB.next('NEW_MESSAGE')).id).toBe('from-a');
    expect((await onA.next('NEW_MESSAGE')).id).toBe('from-a');

    // Cut the client on A; messages keep coming from B; it resumes on B.
    onA.ws.terminate();
    await onA.closed;
    const missed: string[] = [];
    for (let i = 2; i <= 4; i++) {
      onB.send({ type: 'MESSAGE', seq: i - 1, id: `from-b-${i}`, room: 'shared', data: i });
      await onB.next('ACK');
      missed.push(`from-b-${i}`);
    }
    const epoch = session.rooms.shared!.epoch;
    const resumed = await TestClient.open(b.url);
    resumed.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: { 'room:shared': { epoch, offset: 1 } }, lastAckedSeq: 1 });
    const recovered = await resumed.next('STATE_RECOVERED');
    expect(recovered).toMatchObject({ recovered: true, lastSeq: 1 });
    expect((await resumed.messages('room:shared', 3)).map((m) => m.id)).toEqual(missed);
    expect((await resumed.next('REPLAY_DONE')).replayed).toBe(3);

    // Resume the same session on A while B holds it: B's connection is closed with 4002.
    const thief = await TestClient.open(a.url);
    thief.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: recovered.resumeToken, positions: {}, lastAckedSeq: 1 });
    await thief.next('STATE_RECOVERED');
    expect((await resumed.closed).code).toBe(4002);
    const health = await fetch(a.url.replace('ws', 'http') + '/healthz');
    expect(await health.json()).toMatchObject({ status: 'ok', kind: 'redis' });
  });
});

/** A command client that records the start and limit of every READ script call (`[after, limit]`). */
function readRecordingClient(): { client: Redis; reads: Array<[number, number]> } {
  const client = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  const reads: Array<[number, number]> = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string; args: unknown[] }, stream?: unknown) => {
    // EVALSHA sha 2 streamKey metaKey now epoch after limit ...: READ is the script with 2 keys and a limit.
    if ((command.name === 'evalsha' || command.name === 'eval') && String(command.args[2]).includes(':stream:') && Number(command.args[1]) === 2) {
      reads.push([Number(command.args[6]), Number(command.args[7])]);
    }
    return send(command as never, stream as never);
  }) as typeof client.sendCommand;
  return { client, reads };
}

describe.skipIf(!redisUp)('resume reads with Redis', () => {
  it('replays entries another resume just read from the bounds it read, without reading the stream again', async () => {
    const { client: redis, reads } = readRecordingClient();
    const store = new RedisStore({ client: redis, keyPrefix: `${keyPrefix}reads:`, onError: () => undefined });
    try {
      const server = await startServer({ store });
      const { client: a, session: first } = await connectNew(server, ['r']);
      const { client: b, session: second } = await connectNew(server, ['r']);
      const { client: publisher } = await connectNew(server, ['r']);
      a.ws.terminate();
      b.ws.terminate();
      await Promise.all([a.closed, b.closed]);
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
      for (const [i, id] of ids.entries()) {
        publisher.send({ type: 'MESSAGE', seq: i + 1, id, room: 'r', data: i });
        await publisher.next('ACK');
      }
      const resume = async (session: typeof first): Promise<string[]> => {
        const client = await TestClient.open(server.url);
        client.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
        expect(await client.next('STATE_RECOVERED')).toMatchObject({ recovered: true });
        const got = (await client.messages('room:r', ids.length)).map((m) => m.id);
        expect((await client.next('REPLAY_DONE')).replayed).toBe(ids.length);
        return got;
      };
      expect(await resume(first)).toEqual(ids);
      reads.length = 0;
      // The second session misses the same entries: the bounds of its two streams are all it reads.
      expect(await resume(second)).toEqual(ids);
      expect(reads).toEqual([[0, 0], [0, 0]]);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });
});
