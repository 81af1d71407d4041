/**
 * A session bound to a user after it was created (an `AUTH` frame, a resume with credentials)
 * counts for that user on every store. On Redis it was missing from the user's index, so
 * maxSessionsPerUser could be passed by starting anonymous sessions and authenticating them.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Json } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { Store } from '../../src/server/stores/store.js';
import { newSessionId } from '../../src/server/sessions.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { TestClient, startServer, teardown } from '../server/helpers.js';

const redisUp = await redisAvailable();
const prefix = uniquePrefix('user-index');
afterEach(teardown);
afterAll(async () => {
  if (redisUp) await deleteKeys(prefix);
});

const stores: Array<[string, () => Store]> = [['memory', () => new MemoryStore({ sweepIntervalMs: 0 })]];
if (redisUp) stores.push(['redis', () => new RedisStore({ url: REDIS_URL, keyPrefix: `${prefix}:${newSessionId()}:` })]);

describe.each(stores)('%s store', (_name, make) => {
  it('counts a session bound to a user by resumeSession or updateSession', async () => {
    const store = make();
    try {
      const [a, b] = [newSessionId(), newSessionId()];
      for (const id of [a, b]) await store.createSession({ id, tokenHash: 'a'.repeat(64), user: null, rooms: {}, positions: {}, lastSeq: 0, createdAt: Date.now(), owner: 'i/1', expiresAt: null });
      expect(await store.countUserSessions!('ann')).toBe(0);
      await store.resumeSession!(a, { tokenHash: 'b'.repeat(64), user: 'ann' }, 'i/2');
      await store.updateSession(b, { user: 'ann' });
      expect(await store.countUserSessions!('ann')).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('maxSessionsPerUser counts sessions that authenticated with AUTH after HELLO, and refuses an AUTH past it', async () => {
    const s = await startServer({ store: make(), maxSessionsPerUser: 1, authenticate: ({ credentials }) => (credentials as { user?: string } | undefined)?.user ?? null });
    const first = await TestClient.open(s.url);
    await first.hello();
    first.send({ type: 'AUTH', ref: 'r1', auth: { user: 'ann' } as Json });
    expect(await first.next('AUTH_OK')).toMatchObject({ user: 'ann' });
    // a second anonymous session cannot become ann's: it stays anonymous and usable
    const second = await TestClient.open(s.url);
    await second.hello();
    second.send({ type: 'AUTH', ref: 'r2', auth: { user: 'ann' } as Json });
    expect(await second.next('ERROR')).toMatchObject({ code: 'ERR_SESSION_LIMIT', ref: 'r2' });
    second.send({ type: 'JOIN_ROOM', seq: 1, room: 'still-open' });
    expect(await second.next('ROOM_JOINED_ACK')).toMatchObject({ seq: 1 });
    const third = await TestClient.open(s.url);
    third.send({ type: 'HELLO', v: 1, auth: { user: 'ann' } as Json });
    expect(await third.take((f) => f.type === 'ERROR' || f.type === 'NEW_SESSION', 'an answer')).toMatchObject({ type: 'ERROR', code: 'ERR_SESSION_LIMIT' });
  });

  it('credentials at the resume of an anonymous session bind it within the limit; past it the session resumes anonymous', async () => {
    const s = await startServer({ store: make(), maxSessionsPerUser: 1, authenticate: ({ credentials }) => (credentials as { user?: string } | undefined)?.user ?? null });
    const resumeWith = async (auth: Json) => {
      const c = await TestClient.open(s.url);
      const hello = await c.hello();
      c.ws.terminate();
      await c.closed;
      const back = await TestClient.open(s.url);
      back.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: hello.resumeToken, positions: {}, lastAckedSeq: 0, auth });
      return { back, answer: await back.next('STATE_RECOVERED'), sessionId: hello.sessionId };
    };
    const first = await resumeWith({ user: 'ann' });
    expect(first.answer).toMatchObject({ sessionId: first.sessionId, user: 'ann' });
    const second = await resumeWith({ user: 'ann' });
    expect(second.answer).toMatchObject({ sessionId: second.sessionId, user: null, recovered: true });
    expect(await second.back.next('ERROR')).toMatchObject({ code: 'ERR_SESSION_LIMIT' });
    expect(second.back.ws.readyState).toBe(second.back.ws.OPEN);
    expect(await s.store.countUserSessions!('ann')).toBe(1);
  });
});
