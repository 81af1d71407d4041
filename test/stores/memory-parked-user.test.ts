/**
 * Detached ("parked") sessions of authenticated users in the memory store. A bug once skipped a
 * parked user's bytes with `r.at += r.uint()`, losing the uint's own advance: every parked session
 * with a user and an expiry counted from its creation (all real ones) read as long expired, was
 * swept within seconds and did not count against maxSessionsPerUser. The tests before used
 * createdAt far from the clock, which takes the other (absolute expiry) path.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Json } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { newSessionId } from '../../src/server/sessions.js';
import { TestClient, startServer, teardown, until } from '../server/helpers.js';

afterEach(async () => { await teardown(); });

describe('memory store: parked sessions of authenticated users', () => {
  it('store: a detached user session 60 s from expiry is neither taken as expired nor uncounted', async () => {
    const time = 1_700_000_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
    const id = newSessionId();
    await store.createSession({ id, tokenHash: 'a'.repeat(64), user: 'ann', rooms: {}, positions: {}, lastSeq: 0, createdAt: time, owner: 'i/1', expiresAt: null });
    await store.detachSession(id, 'i/1', 60_000);
    expect((await store.getSession(id))?.expiresAt).toBe(time + 60_000);
    expect(await store.wasExpired(id)).toBe(false);
    expect(await store.countUserSessions('ann')).toBe(1);
    expect(await store.takeExpiredSessions(time, 10)).toEqual([]);
    await store.close();
  });

  it('store: a detached session of user "ü" that expired is swept (and counts as expired)', async () => {
    let time = 1_700_000_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
    const id = newSessionId();
    await store.createSession({ id, tokenHash: 'a'.repeat(64), user: 'ü', rooms: {}, positions: {}, lastSeq: 0, createdAt: time, owner: 'i/1', expiresAt: null });
    await store.detachSession(id, 'i/1', 100);
    time += 100;
    expect(await store.getSession(id)).toBeNull();
    expect(await store.wasExpired(id)).toBe(true);
    expect(await store.takeExpiredSessions(time, 10)).toEqual([id]);
    await store.close();
  });

  it('server: an authenticated client that drops is expired by the next sweep instead of resuming', async () => {
    const s = await startServer({ authenticate: ({ credentials }) => (credentials as { user: string }).user });
    const c = await TestClient.open(s.url);
    const hello = await c.hello(undefined, { user: 'ann' });
    c.ws.terminate();
    await c.closed;
    await until(async () => (await s.store.getSession(hello.sessionId))?.owner === null, 'detached');
    await s.sweepExpiredSessions();
    const back = await TestClient.open(s.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: hello.resumeToken, positions: {}, lastAckedSeq: 0, auth: { user: 'ann' } as Json });
    const answer = await back.take((f) => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'an answer');
    expect(answer).toMatchObject({ type: 'STATE_RECOVERED', sessionId: hello.sessionId, recovered: true });
  });

  it('server: a user id that is not well-formed UTF-16 (a lone surrogate) resumes its detached session', async () => {
    const s = await startServer({ authenticate: ({ credentials }) => (credentials as { user: string }).user });
    const user = 'bob\ud800';
    const c = await TestClient.open(s.url);
    const hello = await c.hello(undefined, { user });
    c.ws.terminate();
    await c.closed;
    await until(async () => (await s.store.getSession(hello.sessionId))?.owner === null, 'detached');
    const back = await TestClient.open(s.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: hello.resumeToken, positions: {}, lastAckedSeq: 0, auth: { user } as Json });
    const answer = await back.take((f) => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'an answer');
    expect(answer).toMatchObject({ type: 'STATE_RECOVERED', sessionId: hello.sessionId, user, recovered: true });
  });

  it('server: maxSessionsPerUser counts a detached session', async () => {
    const s = await startServer({ maxSessionsPerUser: 1, authenticate: ({ credentials }) => (credentials as { user: string }).user });
    const c = await TestClient.open(s.url);
    const hello = await c.hello(undefined, { user: 'ann' });
    c.ws.terminate();
    await c.closed;
    await until(async () => (await s.store.getSession(hello.sessionId))?.owner === null, 'detached');
    const second = await TestClient.open(s.url);
    second.send({ type: 'HELLO', v: 1, auth: { user: 'ann' } as Json });
    const answer = await second.take((f) => f.type === 'ERROR' || f.type === 'NEW_SESSION', 'an answer');
    expect(answer).toMatchObject({ type: 'ERROR', code: 'ERR_SESSION_LIMIT' });
  });
});
