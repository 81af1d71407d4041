/**
 * A malicious or broken server cannot make the client throw into the application or lose its
 * queue. A hostile server answers the handshake and then sends garbage, binary, a large garbage
 * frame, out-of-order messages, an ACK for an operation never sent and a second handshake answer;
 * the client reports coded `error`s, delivers the out-of-order messages in order, drops the
 * connection on the protocol violation and, on a good server, delivers every queued operation
 * exactly once, in order (ids compared). Also: storage that fails falls back to memory.
 * (test/fuzz/client.fuzz.test.ts fuzzes the garbage part with fast-check.)
 */
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket, MemoryStorage } from '../../src/index.js';
import type { ReceivedMessage, StorageAdapter } from '../../src/index.js';
import { SUBPROTOCOL, isErrorCode } from '../../src/protocol/index.js';
import { startServer, teardown, until } from '../server/helpers.js';

const sockets: ReconnectingWebSocket[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const c of closers.splice(0)) await c();
  await teardown();
});

/** A server that speaks just enough protocol to be trusted, then misbehaves. */
async function hostileServer(misbehave: (ws: WebSocket, sessionId: string) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => SUBPROTOCOL });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  let n = 0;
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      const sessionId = `hostile${++n}`;
      ws.send(JSON.stringify({
        type: 'NEW_SESSION', v: 1, sessionId, resumeToken: 'not-a-real-token', user: null, rooms: {},
        heartbeat: { interval: 60_000, timeout: 60_000 }, limits: { maxPayload: 1 << 20, maxRooms: 100, maxRate: 1000 }, recovered: false,
      }));
      // Never acknowledges anything; misbehaves once the client had time to send its queue.
      setTimeout(() => misbehave(ws, sessionId), 50);
    });
  });
  const { port } = wss.address() as { port: number };
  return `ws://127.0.0.1:${port}`;
}

describe('a hostile server', () => {
  it('garbage, large and out-of-order frames, a bogus ACK and a second handshake: coded errors, in-order delivery, nothing of the queue lost or doubled', async () => {
    const message = (sessionId: string, offset: number) =>
      JSON.stringify({ type: 'NEW_MESSAGE', stream: `session:${sessionId}`, epoch: 'e', offset, from: null, id: `h${offset}`, data: offset, ts: 1 });
    let useGood = false;
    const hostile = await hostileServer((ws, sessionId) => {
      // one hostile connection only: the client's next connection goes to the good server
      useGood = true;
      ws.send('not json');
      ws.send('{"type":"NEW_MESSAGE","offset":"x"}');
      ws.send(Buffer.from([1, 2, 3]), { binary: true });
      ws.send(`{"type":"WHAT","junk":"${'x'.repeat(2 * 1024 * 1024)}"}`);
      ws.send(message(sessionId, 1));
      ws.send(message(sessionId, 3));
      ws.send(message(sessionId, 2));
      ws.send(JSON.stringify({ type: 'ACK', seq: 999 }));
      ws.send(JSON.stringify({ type: 'REPLAY_DONE', replayed: 7 }));
      setTimeout(() => ws.send(JSON.stringify({ type: 'STATE_RECOVERED', v: 1, sessionId: 'someone-else', resumeToken: 't', user: null, rooms: {}, lastSeq: 50, recovered: true, heartbeat: { interval: 1, timeout: 1 }, limits: { maxPayload: 1, maxRooms: 1, maxRate: 1 } })), 200);
    });
    const good = await startServer();
    // The hostile server misbehaves on the first connection and must be dropped for the queue to
    // settle at all (it never acknowledges): every later connection goes to the good server.
    const client = new ReconnectingWebSocket(() => (useGood ? good.url : hostile), {
      storage: new MemoryStorage(),
      initialReconnectDelay: 20,
      maxReconnectDelay: 100,
      environment: {},
    });
    sockets.push(client);
    const errors: unknown[] = [];
    const received: ReceivedMessage[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('message', (m) => received.push(m));
    const ids = Array.from({ length: 10 }, (_, n) => `q${n}`);
    const settled = [client.join('safe'), ...ids.map((id, n) => client.send({ n }, { room: 'safe', id }))];
    await Promise.all(settled);
    // from the hostile server: its three messages once each and in order, whatever order it sent
    expect(received.filter((m) => m.id?.startsWith('h')).map((m) => m.id)).toEqual(['h1', 'h2', 'h3']);
    const { entries } = await good.store.read('room:safe', 0, 100);
    expect(entries.map((e) => e.id)).toEqual(ids);
    expect(errors.length).toBeGreaterThanOrEqual(4);
    for (const e of errors) expect(isErrorCode((e as { code?: unknown }).code), String(e)).toBe(true);
    expect(errors.map((e) => (e as { code: string }).code)).toContain('ERR_PROTOCOL');
  });
});

describe('failing storage', () => {
  it('falls back to memory with a storagefailed event and still delivers exactly once across a cut', async () => {
    const broken: StorageAdapter = {
      get: () => Promise.reject(new Error('quota exceeded')),
      set: () => Promise.reject(new Error('quota exceeded')),
      delete: () => Promise.reject(new Error('quota exceeded')),
    };
    const server = await startServer({ faults: true });
    const client = new ReconnectingWebSocket(server.url, { storage: broken, initialReconnectDelay: 20, environment: {} });
    sockets.push(client);
    const failures: string[] = [];
    client.on('storagefailed', (e) => failures.push(e.code));
    client.on('error', () => undefined);
    await client.join('mem');
    const first = Array.from({ length: 5 }, (_, n) => client.send({ n }, { room: 'mem', id: `a${n}` }));
    await Promise.all(first);
    const reopened = new Promise((resolve) => client.once('open', resolve));
    await server.disconnect(client.sessionId!, 4008);
    const second = Array.from({ length: 5 }, (_, n) => client.send({ n }, { room: 'mem', id: `b${n}` }));
    expect(await reopened).toMatchObject({ recovered: true });
    await Promise.all(second);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(new Set(failures)).toEqual(new Set(['ERR_STORAGE_FAILED']));
    const { entries } = await server.store.read('room:mem', 0, 100);
    expect(entries.map((e) => e.id)).toEqual([...Array.from({ length: 5 }, (_, n) => `a${n}`), ...Array.from({ length: 5 }, (_, n) => `b${n}`)]);
  });
});
