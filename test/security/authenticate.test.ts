/**
 * Who may resume: `authenticate(request)` runs on every connection (new and resumed), a session
 * bound to a user resumes only for that user, and the origin check stops browsers from other
 * sites. Real server, real sockets.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket, MemoryStorage } from '../../src/index.js';
import type { Json } from '../../src/protocol/index.js';
import type { AuthenticateInput } from '../../src/server/index.js';
import { TestClient, startServer, teardown, until } from '../server/helpers.js';

const sockets: ReconnectingWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await teardown();
});

/** Credentials `{ user }` name the user; `{ user: 'mallory' }` is refused. */
function hook(calls: AuthenticateInput[]) {
  return ({ request, credentials }: AuthenticateInput): string | false => {
    calls.push({ request, credentials });
    const user = (credentials as { user?: string } | undefined)?.user;
    if (user === undefined || user === 'mallory') return false;
    return user;
  };
}

describe('authentication on every connection', () => {
  it('runs authenticate on new and resumed connections; a session bound to a user resumes only for that user', async () => {
    const calls: AuthenticateInput[] = [];
    const server = await startServer({ authenticate: hook(calls) });
    const alice = await TestClient.open(server.url);
    const session = await alice.hello(['a'], { user: 'alice' });
    expect(session.user).toBe('alice');
    alice.ws.terminate();
    await alice.closed;
    expect(calls).toHaveLength(1);
    expect(calls[0]!.request.headers.upgrade).toBe('websocket');

    // Bob holds Alice's id and token (stolen): the hook runs, the user differs, nothing opens.
    const bob = await TestClient.open(server.url);
    bob.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0, auth: { user: 'bob' } as Json });
    const refused = await bob.next('NEW_SESSION');
    expect(refused).toMatchObject({ reason: 'user_mismatch', user: 'bob' });
    expect(refused.sessionId).not.toBe(session.sessionId);
    expect(Object.keys(refused.rooms)).toEqual([]);
    expect(calls).toHaveLength(2);

    // Anonymous (no credentials) is refused by this hook: 4001 before any session is touched.
    const anonymous = await TestClient.open(server.url);
    anonymous.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    expect((await anonymous.next('ERROR')).code).toBe('ERR_UNAUTHORIZED');
    expect((await anonymous.closed).code).toBe(4001);
    expect(calls).toHaveLength(3);

    // Alice herself resumes (the refusals above neither rotated nor burnt her token).
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0, auth: { user: 'alice' } as Json });
    expect(await back.next('STATE_RECOVERED')).toMatchObject({ sessionId: session.sessionId, user: 'alice' });
    expect(calls).toHaveLength(4);

    // AUTH on the open connection cannot switch the session to another user.
    back.send({ type: 'AUTH', ref: 'r1', auth: { user: 'bob' } as Json });
    expect(await back.next('ERROR')).toMatchObject({ code: 'ERR_FORBIDDEN', ref: 'r1' });
    expect(calls).toHaveLength(5);
  });

  it('the client calls its auth function on every connection, and stops when refused (4001)', async () => {
    const calls: AuthenticateInput[] = [];
    const server = await startServer({ authenticate: hook(calls) });
    let user = 'carol';
    const client = new ReconnectingWebSocket(server.url, { storage: new MemoryStorage(), auth: () => ({ user }), initialReconnectDelay: 10, environment: {} });
    sockets.push(client);
    client.on('error', () => undefined);
    await client.join('x');
    const sessionId = client.sessionId;
    const reopened = new Promise((resolve) => client.once('open', resolve));
    await server.disconnect(sessionId!, 4008);
    expect(await reopened).toMatchObject({ recovered: true, sessionId });
    expect(calls.length).toBe(2);
    user = 'mallory';
    const stopped = new Promise<{ to: string; error?: { code: string } }>((resolve) => client.on('status', (s) => s.to === 'closed' && resolve(s as never)));
    await server.disconnect(sessionId!, 4008);
    expect((await stopped).error?.code).toBe('ERR_UNAUTHORIZED');
    expect(calls.length).toBe(3);
  });
});

describe('origin check', () => {
  /** A `ws` client that sends an Origin header, as a browser would. */
  const withOrigin = (origin: string) =>
    class extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { origin });
      }
    };

  it('lets an allowed origin in and stops a client from another origin (4007, no retry)', async () => {
    const server = await startServer({ allowedOrigins: ['https://app.example'] });
    const good = new ReconnectingWebSocket(server.url, { storage: new MemoryStorage(), WebSocket: withOrigin('https://app.example') as never, environment: {} });
    const bad = new ReconnectingWebSocket(server.url, { storage: new MemoryStorage(), WebSocket: withOrigin('https://evil.example') as never, initialReconnectDelay: 10, environment: {} });
    sockets.push(good, bad);
    const errors: string[] = [];
    bad.on('error', (e) => errors.push(e.code));
    good.on('error', () => undefined);
    await good.join('lobby');
    await until(() => bad.status === 'closed', 'the foreign-origin client stopped');
    expect(errors).toContain('ERR_ORIGIN_REJECTED');
    expect(server.connectionCount).toBe(1);
  });
});
