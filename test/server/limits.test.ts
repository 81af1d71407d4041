import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, connectNew, startServer, teardown, until } from './helpers.js';

afterEach(teardown);

describe('abuse limits', () => {
  it('cuts a slow consumer (4004) and it recovers everything on reconnect', async () => {
    const server = await startServer({ maxBufferedBytes: 64 * 1024, retention: { maxCount: 5000 } });
    const { client, session } = await connectNew(server, ['flood']);
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const ids: string[] = [];
    const payload = 'x'.repeat(32 * 1024);
    // Bounded: at most 400 x 32 KiB; the cut comes once the kernel buffers are full.
    for (let i = 0; i < 400 && server.connectionCount > 0; i++) ids.push((await server.publish('flood', { i, payload })).id);
    await until(() => server.connectionCount === 0, 'the slow consumer was cut', 10_000);
    socket.resume();
    expect([4004, 1006]).toContain((await client.closed).code);
    const metrics = await (await fetch(server.url.replace('ws', 'http') + '/metrics')).text();
    expect(metrics).toContain('resilient_socket_errors_total{code="ERR_SLOW_CONSUMER"} 1');

    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    expect((await back.next('STATE_RECOVERED')).recovered).toBe(true);
    const replayed = await back.messages('room:flood', ids.length, 15_000);
    expect(replayed.map((m) => m.id)).toEqual(ids);
  });

  it('rate limits failed resumes per address (4003), without touching other sessions', async () => {
    const server = await startServer({ maxFailedResumes: 3 });
    const { session } = await connectNew(server);
    for (let i = 0; i < 3; i++) {
      const guess = await TestClient.open(server.url);
      guess.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: `guess-${i}`, positions: {}, lastAckedSeq: 0 });
      expect((await guess.next('NEW_SESSION')).reason).toBe('token_rejected');
      guess.close();
    }
    const blocked = await TestClient.open(server.url);
    blocked.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: 'guess-4', positions: {}, lastAckedSeq: 0 });
    expect((await blocked.next('ERROR')).code).toBe('ERR_RESUME_RATE_LIMITED');
    expect((await blocked.closed).code).toBe(4003);
    // New sessions from the address still work.
    const { client } = await connectNew(server);
    client.send({ type: 'PING', t: 1 });
    await client.next('PONG');
  });

  it('refuses origins that are not allowed with 4007', async () => {
    const server = await startServer({ allowedOrigins: ['https://app.example'] });
    const good = await TestClient.open(server.url, { origin: 'https://app.example' });
    expect((await good.hello()).type).toBe('NEW_SESSION');
    const bad = await TestClient.open(server.url, { origin: 'https://evil.example' });
    expect((await bad.next('ERROR')).code).toBe('ERR_ORIGIN_REJECTED');
    expect((await bad.closed).code).toBe(4007);
  });

  it('closes connections past maxPendingHandshakes with 4010', async () => {
    const server = await startServer({ maxPendingHandshakes: 1 });
    const waiting = await TestClient.open(server.url);
    const extra = await TestClient.open(server.url);
    expect((await extra.next('ERROR')).code).toBe('ERR_TOO_MANY_HANDSHAKES');
    expect((await extra.closed).code).toBe(4010);
    expect((await waiting.hello()).type).toBe('NEW_SESSION');
    // The slot is free again once the first handshake completed.
    const later = await TestClient.open(server.url);
    expect((await later.hello()).type).toBe('NEW_SESSION');
  });
});
