import { afterEach, describe, expect, it } from 'vitest';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

describe('handshake', () => {
  it('starts a new session with a 128-bit id and a 256-bit token, selecting the subprotocol', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['lobby']);
    expect(client.ws.protocol).toBe(SUBPROTOCOL);
    expect(Buffer.from(session.sessionId, 'base64url')).toHaveLength(16);
    expect(Buffer.from(session.resumeToken, 'base64url')).toHaveLength(32);
    expect(session.recovered).toBe(false);
    expect(session.user).toBeNull();
    expect(session.rooms.lobby).toMatchObject({ stream: 'room:lobby', offset: 0 });
    expect(session.limits.maxPayload).toBe(1024 * 1024);
  });

  it('serves clients that do not offer the subprotocol', async () => {
    const server = await startServer();
    const client = await TestClient.open(server.url, { protocols: [] });
    expect(client.ws.protocol).toBe('');
    const session = await client.hello();
    expect(session.type).toBe('NEW_SESSION');
  });

  it('resumes with the token, rotates it, and refuses the old one once the new one was used', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['lobby']);
    client.close();
    await client.closed;

    const second = await TestClient.open(server.url);
    second.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const recovered = await second.next('STATE_RECOVERED');
    expect(recovered.sessionId).toBe(session.sessionId);
    expect(recovered.recovered).toBe(true);
    expect(recovered.resumeToken).not.toBe(session.resumeToken);
    expect(Object.keys(recovered.rooms)).toEqual(['lobby']);
    await second.next('REPLAY_DONE');
    second.close();
    await second.closed;

    // The old token still opens the session until the rotated one is used (a client may have
    // crashed before storing it); once the rotated one was used, the old one is dead.
    const third = await TestClient.open(server.url);
    third.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: recovered.resumeToken, positions: {}, lastAckedSeq: 0 });
    expect((await third.next('STATE_RECOVERED')).sessionId).toBe(session.sessionId);
    await third.next('REPLAY_DONE');
    third.close();
    await third.closed;
    const fourth = await TestClient.open(server.url);
    fourth.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const refused = await fourth.next('NEW_SESSION');
    expect(refused.reason).toBe('token_rejected');
    expect(refused.sessionId).not.toBe(session.sessionId);
  });

  it('answers an unknown session with a new session (reason unknown)', async () => {
    const server = await startServer();
    const client = await TestClient.open(server.url);
    client.send({ type: 'RECONNECT', v: 1, sessionId: 'nope', resumeToken: 'nope', positions: {}, lastAckedSeq: 3, rooms: ['a'] });
    const answer = await client.next('NEW_SESSION');
    expect(answer.reason).toBe('unknown');
    expect(Object.keys(answer.rooms)).toEqual(['a']);
  });

  it('refuses frames before the handshake with ERR_NOT_READY and 4000', async () => {
    const server = await startServer();
    const client = await TestClient.open(server.url);
    client.send({ type: 'MESSAGE', seq: 1, id: 'm', data: 1 });
    const error = await client.next('ERROR');
    expect(error.code).toBe('ERR_NOT_READY');
    expect((await client.closed).code).toBe(4000);
  });

  it('refuses an unsupported version', async () => {
    const server = await startServer();
    const client = await TestClient.open(server.url);
    client.send({ type: 'HELLO', v: 2 });
    expect((await client.next('ERROR')).code).toBe('ERR_UNSUPPORTED_VERSION');
    expect((await client.closed).code).toBe(4000);
  });

  it('closes a connection that never says hello with 4006', async () => {
    const server = await startServer({ handshakeTimeout: 50 });
    const client = await TestClient.open(server.url);
    expect((await client.next('ERROR')).code).toBe('ERR_HANDSHAKE_TIMEOUT');
    expect((await client.closed).code).toBe(4006);
  });

  it('a second handshake on an open connection is a protocol error', async () => {
    const server = await startServer();
    const { client } = await connectNew(server);
    client.send({ type: 'HELLO', v: 1 });
    expect((await client.next('ERROR')).code).toBe('ERR_PROTOCOL');
    expect((await client.closed).code).toBe(4000);
  });

  it('answers PING with PONG', async () => {
    const server = await startServer();
    const { client } = await connectNew(server);
    client.send({ type: 'PING', t: 1234 });
    expect((await client.next('PONG')).t).toBe(1234);
  });

  it('takes over a session resumed elsewhere: the old connection is closed with 4002', async () => {
    const server = await startServer();
    const { client: first, session } = await connectNew(server, ['lobby']);
    const second = await TestClient.open(server.url);
    second.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const recovered = await second.next('STATE_RECOVERED');
    expect(recovered.sessionId).toBe(session.sessionId);
    expect((await first.next('ERROR')).code).toBe('ERR_SESSION_TAKEN_OVER');
    expect((await first.closed).code).toBe(4002);
    // The new connection keeps the session: a message to the room reaches it.
    await second.next('REPLAY_DONE');
    second.send({ type: 'MESSAGE', seq: 1, id: 'after-takeover', room: 'lobby', data: 1 });
    expect((await second.next('NEW_MESSAGE')).id).toBe('after-takeover');
    expect(server.connectionCount).toBe(1);
  });

  it('never logs a resume token, at any level', async () => {
    const lines: string[] = [];
    const record = (obj: object, msg?: string) => void lines.push(JSON.stringify({ obj, msg }));
    const server = await startServer({ logger: { debug: record, info: record, warn: record, error: record } });
    const { client, session } = await connectNew(server, ['logs']);
    client.ws.terminate();
    await client.closed;
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const recovered = await back.next('STATE_RECOVERED');
    const wrong = await TestClient.open(server.url);
    wrong.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken + 'x', positions: {}, lastAckedSeq: 0 });
    await wrong.next('NEW_SESSION');
    back.send({ type: 'BYE' });
    await back.closed;
    expect(lines.length).toBeGreaterThan(3);
    const all = lines.join('\n');
    for (const token of [session.resumeToken, recovered.resumeToken]) expect(all).not.toContain(token);
  });
});
