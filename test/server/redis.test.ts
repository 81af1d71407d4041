import { afterAll, afterEach, describe, expect, it } from 'vitest';
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
