/**
 * Resume safety against a real server: what a token is, how it rotates, and every way someone
 * without the right token might try to resume a session that is not theirs.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import type { ServerFrame } from '../../src/protocol/index.js';
import { TestClient, connectNew, startServer, teardown } from '../server/helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { MemoryStore } from '../../src/server/stores/memory.js';

afterEach(teardown);

type Answer = Extract<ServerFrame, { type: 'STATE_RECOVERED' | 'NEW_SESSION' }>;

/** Send RECONNECT on a fresh connection and return the handshake answer (and the client). */
async function resume(server: ReferenceServer, sessionId: string, resumeToken: string): Promise<{ client: TestClient; answer: Answer }> {
  const client = await TestClient.open(server.url);
  client.send({ type: 'RECONNECT', v: 1, sessionId, resumeToken, positions: {}, lastAckedSeq: 0 });
  const answer = await client.take((f): f is Answer => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'a handshake answer');
  return { client, answer };
}

/** Resume, then drop the connection the way a network would (no BYE). */
async function resumeAndDrop(server: ReferenceServer, sessionId: string, token: string): Promise<Answer> {
  const { client, answer } = await resume(server, sessionId, token);
  client.ws.terminate();
  await client.closed;
  return answer;
}

function base64urlBytes(text: string): Buffer {
  expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
  return Buffer.from(text, 'base64url');
}

describe('resume tokens', () => {
  it('are at least 128 random bits: 100 tokens are distinct, 32 bytes each, with balanced bits', async () => {
    const server = await startServer();
    const tokens: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { client, session } = await connectNew(server);
      tokens.push(session.resumeToken);
      ids.push(session.sessionId);
      client.send({ type: 'BYE' });
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(new Set(ids).size).toBe(ids.length);
    let ones = 0;
    let bits = 0;
    const byteCounts = new Array<number>(256).fill(0);
    for (const token of tokens) {
      const bytes = base64urlBytes(token);
      expect(bytes.length).toBeGreaterThanOrEqual(16);
      expect(bytes.length).toBe(32);
      for (const byte of bytes) {
        byteCounts[byte]!++;
        for (let b = 0; b < 8; b++) ones += (byte >> b) & 1;
        bits += 8;
      }
    }
    // 25,600 fair bits: the share of ones is 0.5 ± 0.0031 (1 sigma); 0.47..0.53 is ~10 sigma.
    expect(ones / bits).toBeGreaterThan(0.47);
    expect(ones / bits).toBeLessThan(0.53);
    // 3,200 bytes over 256 values: nearly every value appears (a counter or a short alphabet would not).
    expect(byteCounts.filter((n) => n > 0).length).toBeGreaterThan(240);
    for (const id of ids) expect(base64urlBytes(id).length).toBe(16);
  });

  it('rotates on every successful resume', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server);
    client.ws.terminate();
    await client.closed;
    const seen = [session.resumeToken];
    for (let i = 0; i < 5; i++) {
      const answer = await resumeAndDrop(server, session.sessionId, seen.at(-1)!);
      expect(answer.type).toBe('STATE_RECOVERED');
      seen.push(answer.resumeToken);
    }
    expect(new Set(seen).size).toBe(6);
  });

  it('refuses an old rotated token once the new one was used', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server);
    client.ws.terminate();
    await client.closed;
    const t1 = (await resumeAndDrop(server, session.sessionId, session.resumeToken)).resumeToken;
    const t2 = (await resumeAndDrop(server, session.sessionId, t1)).resumeToken;
    const old = await resumeAndDrop(server, session.sessionId, session.resumeToken);
    expect(old).toMatchObject({ type: 'NEW_SESSION', reason: 'token_rejected' });
    expect(old.sessionId).not.toBe(session.sessionId);
    // The refusal did not disturb the session: its current token still works.
    expect((await resumeAndDrop(server, session.sessionId, t2)).sessionId).toBe(session.sessionId);
  });

  it('closes the rotation crash window: the presented token works again until the rotated one is used', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['crash']);
    client.send({ type: 'MESSAGE', seq: 1, id: 'm1', room: 'crash', data: 1 });
    await client.next('ACK');
    client.ws.terminate();
    await client.closed;
    // The client resumes, receives the rotated token, and dies before storing it.
    const lost = await resumeAndDrop(server, session.sessionId, session.resumeToken);
    expect(lost.type).toBe('STATE_RECOVERED');
    // Its next incarnation only has the token it stored: the same session, lastSeq kept, so the
    // re-sent message is a duplicate for the server, not a second message under a new session.
    const { client: again, answer } = await resume(server, session.sessionId, session.resumeToken);
    expect(answer).toMatchObject({ type: 'STATE_RECOVERED', sessionId: session.sessionId, lastSeq: 1 });
    await again.next('REPLAY_DONE');
    again.send({ type: 'MESSAGE', seq: 1, id: 'm1', room: 'crash', data: 1 });
    expect(await again.next('ACK')).toEqual({ type: 'ACK', seq: 1 });
    expect((await server.store.info('room:crash')).lastOffset).toBe(1);
    again.ws.terminate();
    await again.closed;
    // The token issued to the dead incarnation was never used: it is dead now.
    expect(await resumeAndDrop(server, session.sessionId, lost.resumeToken)).toMatchObject({ type: 'NEW_SESSION', reason: 'token_rejected' });
    // The latest one works; after it was used, the first token is dead too.
    const latest = await resumeAndDrop(server, session.sessionId, answer.resumeToken);
    expect(latest.type).toBe('STATE_RECOVERED');
    expect(await resumeAndDrop(server, session.sessionId, session.resumeToken)).toMatchObject({ type: 'NEW_SESSION', reason: 'token_rejected' });
  });

  it('a resume whose connection closed while it waited on the store does not take the session over', async () => {
    // Regression (chaos soak): a client gave up on a slow attempt and resumed on another
    // connection; the abandoned attempt's RECONNECT, still being handled, attached afterwards and
    // closed the live connection with ERR_SESSION_TAKEN_OVER, which stops the client.
    class GatedStore extends MemoryStore {
      /** Held by the next `ping` only. */
      gate: Promise<void> | undefined;
      override async ping(): Promise<void> {
        const gate = this.gate;
        this.gate = undefined;
        await gate;
        return super.ping();
      }
    }
    const store = new GatedStore();
    const x = await startServer({ store });
    const y = await startServer({ store });
    const { client, session } = await connectNew(x);
    client.ws.terminate();
    await client.closed;
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const stale = await TestClient.open(x.url);
    stale.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    await new Promise((r) => setTimeout(r, 50));
    stale.ws.terminate();
    await stale.closed;
    await new Promise((r) => setTimeout(r, 50));
    // The client resumes on the other instance and holds the session ...
    const live = await resume(y, session.sessionId, session.resumeToken);
    expect(live.answer.type).toBe('STATE_RECOVERED');
    await live.client.next('REPLAY_DONE');
    // ... then the abandoned handshake goes on.
    open();
    await new Promise((r) => setTimeout(r, 200));
    live.client.send({ type: 'PING', t: 1 });
    await live.client.next('PONG');
    expect(live.client.received.filter((f) => f.type === 'ERROR')).toEqual([]);
    expect(live.client.ws.readyState).toBe(WebSocket.OPEN);
    expect((await store.getSession(session.sessionId))?.owner).toMatch(/^[^/]+\/[^/]+$/);
  });

  it('a stolen session id without the token, or with another session\'s token, opens nothing', async () => {
    const server = await startServer();
    const victim = await connectNew(server, ['private']);
    const other = await connectNew(server);
    await server.sendTo(victim.session.sessionId, { secret: 'for the victim only' });
    await victim.client.next('NEW_MESSAGE');
    victim.client.ws.terminate();
    await victim.client.closed;
    const attempts = ['x', victim.session.sessionId, other.session.resumeToken, victim.session.resumeToken.slice(0, -1), `${victim.session.resumeToken}A`];
    for (const token of attempts) {
      const { client, answer } = await resume(server, victim.session.sessionId, token);
      expect(answer).toMatchObject({ type: 'NEW_SESSION', reason: 'token_rejected' });
      expect(answer.sessionId).not.toBe(victim.session.sessionId);
      expect(Object.keys(answer.rooms)).toEqual([]);
      await new Promise((r) => setTimeout(r, 20));
      expect(client.received.some((f) => f.type === 'NEW_MESSAGE')).toBe(false);
      client.close();
    }
    // The other session's own token does not open the victim's session either way round.
    const swapped = await resumeAndDrop(server, other.session.sessionId, victim.session.resumeToken);
    expect(swapped).toMatchObject({ type: 'NEW_SESSION', reason: 'token_rejected' });
    // The victim still resumes, with its rooms and its direct message.
    const { client, answer } = await resume(server, victim.session.sessionId, victim.session.resumeToken);
    expect(answer).toMatchObject({ type: 'STATE_RECOVERED', recovered: true });
    expect(Object.keys(answer.rooms)).toEqual(['private']);
    client.close();
  });

  it('rate limits a brute-force burst (4003) while the right token from another address still works', async () => {
    const server = await startServer({ maxFailedResumes: 10 });
    const { client, session } = await connectNew(server);
    client.ws.terminate();
    await client.closed;
    const answers = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const guess = await TestClient.open(server.url);
        guess.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: `guess-${i}`, positions: {}, lastAckedSeq: 0 });
        const answer = await guess.take((f): f is ServerFrame => f.type === 'NEW_SESSION' || f.type === 'ERROR', 'an answer');
        return { answer, closed: answer.type === 'ERROR' ? (await guess.closed).code : undefined };
      }),
    );
    const rejected = answers.filter((a) => a.answer.type === 'NEW_SESSION');
    const limited = answers.filter((a) => a.answer.type === 'ERROR');
    expect(rejected.length).toBeLessThanOrEqual(10);
    expect(limited.length).toBeGreaterThanOrEqual(20);
    for (const a of limited) {
      expect(a.answer).toMatchObject({ code: 'ERR_RESUME_RATE_LIMITED', fatal: true });
      expect(a.closed).toBe(4003);
    }
    // The owner behind the same address (a NAT) is not locked out: only wrong tokens are limited.
    const sameAddress = await TestClient.open(server.url);
    sameAddress.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const resumed = await sameAddress.next('STATE_RECOVERED');
    expect(resumed.sessionId).toBe(session.sessionId);
    sameAddress.ws.terminate();
    await sameAddress.closed;
    // A further guess from the limited address is still cut.
    const late = await TestClient.open(server.url);
    late.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: 'guess-late', positions: {}, lastAckedSeq: 0 });
    expect(await late.next('ERROR')).toMatchObject({ code: 'ERR_RESUME_RATE_LIMITED' });
    expect((await late.closed).code).toBe(4003);
    // The owner, on another address (127.0.0.2 is loopback too), is not locked out either; it
    // presents the rotated token it got from the resume above.
    session.resumeToken = resumed.resumeToken;
    const ws = new WebSocket(server.url, [SUBPROTOCOL], { localAddress: '127.0.0.2' });
    const owner = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    owner.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    expect((await owner.next('STATE_RECOVERED')).sessionId).toBe(session.sessionId);
    owner.ws.terminate();
  });

  it('never logs or echoes a token: a capturing logger and every frame over a full scenario', async () => {
    const lines: string[] = [];
    const record = (obj: object, msg?: string): void => void lines.push(JSON.stringify({ obj, msg }));
    const server = await startServer({ logger: { debug: record, info: record, warn: record, error: record }, maxFailedResumes: 3 });
    const tokens: string[] = [];
    const frames: ServerFrame[][] = [];
    const { client, session } = await connectNew(server, ['log']);
    frames.push(client.received);
    tokens.push(session.resumeToken);
    client.send({ type: 'MESSAGE', seq: 1, id: 'hello', room: 'log', data: { text: 'hi' } });
    await client.next('ACK');
    // Bad frames carrying the token where a field is expected: the errors must not repeat it.
    client.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    client.send({ type: 'MESSAGE', seq: session.resumeToken, id: 'x', room: 'log', data: 1 });
    client.send({ type: 'MESSAGE', seq: 2, id: session.resumeToken, room: `no room ${session.resumeToken}`, data: 1 });
    client.send({ type: 'AUTH', ref: session.resumeToken, auth: session.resumeToken });
    client.send(`{"type":"MESSAGE","resumeToken":"${session.resumeToken}"`);
    await new Promise((r) => setTimeout(r, 100));
    client.ws.terminate();
    await client.closed;
    let token = session.resumeToken;
    for (let i = 0; i < 3; i++) {
      const { client: next, answer } = await resume(server, session.sessionId, token);
      frames.push(next.received);
      tokens.push(answer.resumeToken);
      token = answer.resumeToken;
      next.ws.terminate();
      await next.closed;
    }
    // Wrong tokens (close to the real one) until the rate limit.
    for (let i = 0; i < 5; i++) {
      const wrong = await TestClient.open(server.url);
      frames.push(wrong.received);
      wrong.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: `${token}${i}`, positions: {}, lastAckedSeq: 0 });
      await wrong.take((f): f is ServerFrame => f.type === 'NEW_SESSION' || f.type === 'ERROR', 'an answer');
      wrong.close();
    }
    const { client: last } = await resume(server, session.sessionId, token).catch(() => ({ client: undefined }));
    last?.send({ type: 'BYE' });
    expect(lines.length).toBeGreaterThan(5);
    const logText = lines.join('\n');
    const errorText = JSON.stringify(frames.flat().filter((f) => f.type === 'ERROR'));
    expect(frames.flat().filter((f) => f.type === 'ERROR').length).toBeGreaterThan(4);
    for (const t of tokens) {
      expect(logText).not.toContain(t);
      expect(errorText).not.toContain(t);
    }
  });
});
