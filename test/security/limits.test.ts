/**
 * Abuse limits with a real server: each is an option with a safe default and a coded error, and
 * none of them loses anything the server had accepted. The memory store runs always; the limits
 * that need the store (sessions per user, expired-session tombstones) also run on Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket, MemoryStorage } from '../../src/index.js';
import type { Json } from '../../src/protocol/index.js';
import type { ServerOptions, Store } from '../../src/server/index.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { TestClient, connectNew, startServer, teardown, until } from '../server/helpers.js';

const hasRedis = await redisAvailable();
const sockets: ReconnectingWebSocket[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await teardown();
  for (const c of cleanups.splice(0)) await c();
});

describe('maxMessagesPerSecond (token bucket)', () => {
  it('cuts a connection that floods past its burst with ERR_RATE_LIMITED and 4003', async () => {
    const server = await startServer({ maxMessagesPerSecond: 10, maxMessageBurst: 20 });
    const { client } = await connectNew(server);
    for (let i = 0; i < 60; i++) client.send({ type: 'PING', t: i });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_RATE_LIMITED', fatal: true });
    expect((await client.closed).code).toBe(4003);
    // Frames before the limit were answered as usual.
    expect(client.received.filter((f) => f.type === 'PONG').length).toBeGreaterThanOrEqual(20);
  });

  it('lets a client flush a full default offline queue (1000) at once under the default limit', async () => {
    const server = await startServer();
    const sender = new ReconnectingWebSocket(server.url, { storage: new MemoryStorage(), startClosed: true, environment: {} });
    sockets.push(sender);
    const closes: number[] = [];
    sender.on('close', (c) => closes.push(c.code));
    sender.on('error', () => undefined);
    const acks = [sender.join('burst'), ...Array.from({ length: 999 }, (_, n) => sender.send({ n }, { room: 'burst', id: `m${n}` }))];
    await until(() => sender.stats.queueLength === 1000, 'the queue to hold 1000 operations');
    sender.reconnect();
    await Promise.all(acks);
    expect(closes).not.toContain(4003);
    expect((await server.store.info('room:burst')).lastOffset).toBe(999);
  });

  it('loses and doubles nothing when a fast sender is cut by the limit again and again', async () => {
    const server = await startServer({ maxMessagesPerSecond: 200, maxMessageBurst: 40 });
    const sender = new ReconnectingWebSocket(server.url, { storage: new MemoryStorage(), initialReconnectDelay: 20, maxReconnectDelay: 200, environment: {} });
    sockets.push(sender);
    const closes: number[] = [];
    sender.on('close', (c) => closes.push(c.code));
    sender.on('error', () => undefined);
    await sender.join('fast');
    const ids = Array.from({ length: 300 }, (_, n) => `f${n}`);
    await Promise.all(ids.map((id, n) => sender.send({ n }, { room: 'fast', id })));
    expect(closes).toContain(4003);
    const { entries } = await server.store.read('room:fast', 0, 1000);
    expect(entries.map((e) => e.id)).toEqual(ids);
  });
});

describe('maxRoomsPerSession', () => {
  it('refuses a join past the limit with ERR_ROOM_LIMIT; the session keeps its rooms', async () => {
    const server = await startServer({ maxRoomsPerSession: 2 });
    const client = new ReconnectingWebSocket(server.url, { storage: new MemoryStorage(), environment: {} });
    sockets.push(client);
    await client.join('a');
    await client.join('b');
    await expect(client.join('c')).rejects.toMatchObject({ code: 'ERR_ROOM_LIMIT' });
    const { offset } = (await client.send('still here', { room: 'b' }))!;
    expect(offset).toBe(1);
    await expect(client.send('no', { room: 'c' })).rejects.toMatchObject({ code: 'ERR_NOT_IN_ROOM' });
  });
});

/** The session-limit and tombstone tests, on a given store. */
function storeSuite(name: string, makeStore: () => Promise<Store>): void {
  describe(`${name} store`, () => {
    const server = async (options: ServerOptions) => {
      const store = await makeStore();
      return startServer({ ...options, store });
    };

    it('maxSessionsPerUser: a new session past the limit gets ERR_SESSION_LIMIT (4010); resumes still work', async () => {
      const s = await server({ maxSessionsPerUser: 2, authenticate: ({ credentials }) => (credentials as { user: string }).user });
      const first = await TestClient.open(s.url);
      const one = await first.hello(undefined, { user: 'ann' });
      const second = await TestClient.open(s.url);
      await second.hello(undefined, { user: 'ann' });
      const third = await TestClient.open(s.url);
      third.send({ type: 'HELLO', v: 1, auth: { user: 'ann' } as Json });
      expect(await third.next('ERROR')).toMatchObject({ code: 'ERR_SESSION_LIMIT', fatal: true });
      expect((await third.closed).code).toBe(4010);
      // Another user is not affected.
      expect((await (await TestClient.open(s.url)).hello(undefined, { user: 'ben' })).user).toBe('ben');
      // Resuming an existing session is not a new session.
      first.ws.terminate();
      await first.closed;
      const back = await TestClient.open(s.url);
      back.send({ type: 'RECONNECT', v: 1, sessionId: one.sessionId, resumeToken: one.resumeToken, positions: {}, lastAckedSeq: 0, auth: { user: 'ann' } as Json });
      expect((await back.next('STATE_RECOVERED')).sessionId).toBe(one.sessionId);
      // A session that ends frees its place.
      back.send({ type: 'BYE' });
      await back.closed;
      const fourth = await TestClient.open(s.url);
      expect((await fourth.hello(undefined, { user: 'ann' })).user).toBe('ann');
    });

    it('maxSessionsPerUser holds for HELLOs of one user arriving at once on one instance', async () => {
      const s = await server({ maxSessionsPerUser: 2, authenticate: ({ credentials }) => (credentials as { user: string }).user });
      const clients = await Promise.all(Array.from({ length: 6 }, () => TestClient.open(s.url)));
      for (const c of clients) c.send({ type: 'HELLO', v: 1, auth: { user: 'cat' } as Json });
      const answers = await Promise.all(clients.map((c) => c.take((f) => f.type === 'NEW_SESSION' || f.type === 'ERROR', 'an answer')));
      expect(answers.filter((a) => a.type === 'NEW_SESSION')).toHaveLength(2);
      expect(answers.filter((a) => a.type === 'ERROR').map((a) => (a as { code: string }).code)).toEqual(Array(4).fill('ERR_SESSION_LIMIT'));
    });

    it('reports a resume of an expired session as expired (tombstone), and unknown once the tombstone is gone', async () => {
      const s = await server({ sessionTtl: 50, sweepInterval: 20, tombstoneTtl: 1500 });
      const { client, session } = await connectNew(s);
      client.ws.terminate();
      await client.closed;
      await until(async () => (await s.store.getSession(session.sessionId)) === null, 'the session expired', 5000);
      await s.sweepExpiredSessions();
      const late = await TestClient.open(s.url);
      late.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
      expect(await late.next('NEW_SESSION')).toMatchObject({ recovered: false, reason: 'expired' });
      const made = await TestClient.open(s.url);
      made.send({ type: 'RECONNECT', v: 1, sessionId: 'never-existed', resumeToken: 'x', positions: {}, lastAckedSeq: 0 });
      expect((await made.next('NEW_SESSION')).reason).toBe('unknown');
      await new Promise((r) => setTimeout(r, 1600));
      const later = await TestClient.open(s.url);
      later.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
      expect((await later.next('NEW_SESSION')).reason).toBe('unknown');
    });
  });
}

storeSuite('memory', async () => new MemoryStore());
if (hasRedis) {
  storeSuite('Redis', async () => {
    const keyPrefix = uniquePrefix('security');
    const store = new RedisStore({ url: REDIS_URL, keyPrefix });
    cleanups.push(async () => {
      await store.close();
      await deleteKeys(keyPrefix);
    });
    return store;
  });
}

describe('maxOutbox (a session\'s direct stream)', () => {
  it('keeps at most maxOutbox direct messages of an absent session and reports what it dropped as a gap', async () => {
    const server = await startServer({ maxOutbox: 5 });
    const { client, session } = await connectNew(server);
    client.ws.terminate();
    await client.closed;
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) sent.push((await server.sendTo(session.sessionId, { i })).id);
    const stream = `session:${session.sessionId}`;
    const info = await server.store.info(stream);
    expect(info.lastOffset - info.firstOffset + 1).toBe(5);
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const recovered = await back.next('STATE_RECOVERED');
    expect(recovered).toMatchObject({ recovered: false, reason: 'history_gap' });
    // Explicit: the trimmed range is named, and the 5 retained messages are still replayed.
    expect(recovered.gaps).toEqual([{ stream, reason: 'history_gap', from: 1, to: sent.length - 5 }]);
    expect((await back.messages(stream, 5)).map((m) => m.id)).toEqual(sent.slice(-5));
    expect((await back.next('REPLAY_DONE')).replayed).toBe(5);
  });
});
