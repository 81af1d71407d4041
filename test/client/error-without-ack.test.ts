/**
 * An `ERROR` naming the `seq` of a queued operation, with no `ACK` behind it, must not leave the
 * operation pending for good: the client starts over and the resume settles or re-sends it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { ResilientSocketError } from '../../src/protocol/index.js';
import { FakeClock, fakeWebSocket, newSession, settle, stateRecovered } from './fakes.js';
import { connect, onTeardown, startServer, teardownAll, waitFor } from './integration-helpers.js';

const open: ReconnectingWebSocket[] = [];
afterEach(async () => {
  for (const ws of open.splice(0)) if (ws.status !== 'closed') ws.close();
  await teardownAll();
});

function setup() {
  const clock = new FakeClock();
  const fake = fakeWebSocket();
  const ws = new ReconnectingWebSocket('ws://example.test/socket', { WebSocket: fake.WebSocket, timers: clock, now: () => clock.now, jitter: 'none', storage: new MemoryStorage(), environment: {} });
  open.push(ws);
  const errors: ResilientSocketError[] = [];
  ws.on('error', (e) => errors.push(e));
  return { ws, clock, fake, errors };
}

async function answer(t: ReturnType<typeof setup>, frame: Record<string, unknown>) {
  await settle();
  const socket = t.fake.last();
  socket.open();
  await settle();
  socket.receive(frame);
  await settle();
  return socket;
}

describe('ERROR{seq} without an ACK (scripted socket)', () => {
  it('reconnects, and the resume settles the operation the server had processed', async () => {
    const t = setup();
    const first = await answer(t, newSession('s1'));
    let outcome = 'pending';
    t.ws.send('x').then(() => (outcome = 'resolved'), (e: ResilientSocketError) => (outcome = `rejected ${e.code}`));
    await settle();
    expect(first.framesOf('MESSAGE').map((f) => f.seq)).toEqual([1]);
    first.receive({ type: 'ERROR', code: 'ERR_INTERNAL', message: 'failed', seq: 1 });
    await t.clock.advance(10_000);
    expect(first.readyState).toBeGreaterThanOrEqual(2);
    const second = await answer(t, stateRecovered('s1', 'tok-2', 1));
    expect(second.framesOf('RECONNECT')).toHaveLength(1);
    expect(outcome).toBe('resolved');
    expect(second.framesOf('MESSAGE')).toEqual([]);
  });

  it('re-sends the operation when the resume says it was not processed', async () => {
    const t = setup();
    const first = await answer(t, newSession('s1'));
    let outcome = 'pending';
    t.ws.send('x').then(() => (outcome = 'resolved'), () => (outcome = 'rejected'));
    await settle();
    first.receive({ type: 'ERROR', code: 'ERR_INTERNAL', message: 'failed', seq: 1 });
    await t.clock.advance(10_000);
    const second = await answer(t, stateRecovered('s1', 'tok-2', 0));
    expect(second.framesOf('MESSAGE').map((f) => [f.seq, f.data])).toEqual([[1, 'x']]);
    expect(outcome).toBe('pending');
    second.receive({ type: 'ACK', seq: 1 });
    await settle();
    expect(outcome).toBe('resolved');
  });

  it('keeps the connection when the ACK follows the ERROR (a refusal)', async () => {
    const t = setup();
    const first = await answer(t, newSession('s1'));
    let outcome = 'pending';
    t.ws.send('x').then(() => (outcome = 'resolved'), (e: ResilientSocketError) => (outcome = `rejected ${e.code}`));
    await settle();
    first.receive({ type: 'ERROR', code: 'ERR_INTERNAL', message: 'hook threw', seq: 1 });
    first.receive({ type: 'ACK', seq: 1, error: { code: 'ERR_INTERNAL', message: 'hook threw' } });
    await t.clock.advance(10_000);
    expect(outcome).toBe('rejected ERR_INTERNAL');
    expect(t.fake.sockets).toHaveLength(1);
    expect(first.readyState).toBe(1);
  });
});

/**
 * A loopback proxy in front of the real server that swallows the ACK of the first MESSAGE whose
 * `data` is `victim` and sends an `ERROR{seq}` in its place: a server that failed after
 * processing, without acknowledging and without closing.
 */
async function ackEatingProxy(upstreamUrl: string, victim: string): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => [...p][0] ?? false });
  let victimSeq: number | undefined;
  let done = false;
  wss.on('connection', (client, req) => {
    const upstream = new WebSocket(upstreamUrl, client.protocol ? [client.protocol] : []);
    const early: string[] = [];
    client.on('message', (raw) => {
      let data = raw.toString();
      const f = JSON.parse(data) as { type: string; data?: unknown; seq?: number; foldAcks?: true };
      if (!done && victimSeq === undefined && f.type === 'MESSAGE' && f.data === victim) victimSeq = f.seq;
      // The ACK this proxy eats must be a frame of its own: no folded acks on this connection.
      if (f.type === 'HELLO' || f.type === 'RECONNECT') {
        delete f.foldAcks;
        data = JSON.stringify(f);
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
      else early.push(data);
    });
    upstream.on('open', () => {
      for (const d of early.splice(0)) upstream.send(d);
    });
    upstream.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; seq?: number };
      if (!done && victimSeq !== undefined && f.type === 'ACK' && f.seq === victimSeq) {
        done = true;
        client.send(JSON.stringify({ type: 'ERROR', code: 'ERR_INTERNAL', message: 'failed without an ack', seq: f.seq }));
        return;
      }
      client.send(data.toString());
    });
    const closeBoth = () => {
      client.terminate();
      upstream.terminate();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    void req;
  });
  onTeardown(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => (wss.address() ? resolve() : wss.once('listening', () => resolve())));
  const { port } = wss.address() as { port: number };
  return `ws://127.0.0.1:${port}`;
}

describe('ERROR{seq} without an ACK (real server behind a proxy)', () => {
  it('settles the send and delivers the message exactly once', async () => {
    const server = await startServer();
    const watcher = connect(server.url);
    await watcher.opened();
    await watcher.ws.join('r');
    const a = connect(await ackEatingProxy(server.url, 'victim'));
    await a.opened();
    await a.ws.join('r');
    const reopened = a.opened();
    await a.ws.send('victim', { room: 'r' });
    await reopened; // it got there by reconnecting
    await a.ws.send('after', { room: 'r' });
    await waitFor(() => watcher.messages.some((m) => m.data === 'after'), 'the later message');
    expect(watcher.messages.filter((m) => m.room === 'r').map((m) => m.data)).toEqual(['victim', 'after']);
    expect(a.opens.slice(1)).toEqual([{ recovered: true }]);
  });
});
