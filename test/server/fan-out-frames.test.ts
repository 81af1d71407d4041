/**
 * Fan-out writes: frames built once and written to the socket as they are, and writes held until
 * the current work is done. What a client receives must be exactly what `ws.send` would have sent.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { directSocket, textFrameBytes } from '../../src/server/rooms/shared-frame.js';
import { TestClient, connectNew, startServer, teardown, until } from './helpers.js';

afterEach(teardown);

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A bare `ws` server whose first connection is handed to `onConnection`; returns a connected client. */
async function pair(perMessageDeflate: boolean, onConnection: (ws: WebSocket) => void): Promise<WebSocket> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  closers.push(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  }));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onConnection);
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate });
  closers.push(async () => client.terminate());
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  return client;
}

describe('pre-built text frames', () => {
  it('arrive as the same text at every length boundary and with multi-byte characters', async () => {
    const texts = ['', 'a', 'x'.repeat(125), 'x'.repeat(126), 'é'.repeat(63), 'é'.repeat(64), 'x'.repeat(65_535), 'x'.repeat(65_536), '€😀'.repeat(20_000)];
    const received: string[] = [];
    let server: WebSocket | undefined;
    const client = await pair(false, (ws) => (server = ws));
    client.on('message', (data, isBinary) => {
      if (!isBinary) received.push(String(data));
    });
    await until(() => server !== undefined, 'the server side is connected');
    const socket = directSocket(server!);
    expect(socket).toBeDefined();
    for (const text of texts) socket!.write(textFrameBytes(text));
    // A frame through ws after them keeps its place in the stream.
    server!.send('after');
    await until(() => received.length === texts.length + 1, 'every frame arrived');
    expect(received).toEqual([...texts, 'after']);
  });

  it('are not written directly when the connection compresses', async () => {
    let server: WebSocket | undefined;
    await pair(true, (ws) => (server = ws));
    await until(() => server !== undefined, 'the server side is connected');
    expect(server!.extensions).not.toBe('');
    expect(directSocket(server!)).toBeUndefined();
  });
});

describe('held fan-out writes', () => {
  it('deliver a burst published in one turn to every member, in order, without cutting readers under a small outbox limit', async () => {
    const server = await startServer({ maxBufferedBytes: 1024 });
    const members = await Promise.all([0, 1, 2].map(() => connectNew(server, ['burst'])));
    const count = 200;
    // Every publish resolves on a microtask: all 200 fan-outs run before the batch ends, so each
    // member's writes are held together, far past the 1 KiB limit, until they are all made.
    const published = await Promise.all(Array.from({ length: count }, (_, i) => server.publish('burst', { i, pad: 'x'.repeat(100) })));
    const ids = published.map((entry) => entry.id);
    for (const { client } of members) {
      const got = await client.messages('room:burst', count);
      expect(got.map((m) => m.id)).toEqual(ids);
      expect(got.map((m) => m.offset)).toEqual(published.map((entry) => entry.offset));
    }
    expect(server.connectionCount).toBe(members.length);
  });

  it('are flushed without a timer, so faked setImmediate/setTimeout in the application do not stall delivery', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['clock']);
    const realSetTimeout = setTimeout;
    vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout'] });
    try {
      const entry = await server.publish('clock', 'tick');
      // Real I/O still runs under fake timers; the guard uses the real clock.
      const arrived = await new Promise<boolean>((resolve) => {
        client.ws.once('message', () => resolve(true));
        realSetTimeout(() => resolve(false), 5000);
      });
      expect(arrived).toBe(true);
      expect(client.inbox.some((f) => f.type === 'NEW_MESSAGE' && f.id === entry.id)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('replayed frames', () => {
  it('replay messages larger than the shared frame budget to sessions resuming together, once and in order', async () => {
    const server = await startServer();
    const sessions = await Promise.all([0, 1].map(() => connectNew(server, ['big'])));
    for (const { client } of sessions) client.close();
    await until(() => server.connectionCount === 0, 'both clients left');
    // 8 x ~700 KB: more than the frames kept for other resuming sessions (4 Mi characters).
    const published = [];
    for (let i = 0; i < 8; i++) published.push(await server.publish('big', { i, pad: String(i).repeat(700 * 1024) }));
    const resumed = await Promise.all(sessions.map(async ({ session }) => {
      const client = await TestClient.open(server.url);
      client.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
      return client;
    }));
    for (const client of resumed) {
      expect((await client.next('STATE_RECOVERED')).recovered).toBe(true);
      const got = await client.messages('room:big', published.length, 15_000);
      expect(got.map((m) => m.id)).toEqual(published.map((entry) => entry.id));
      expect(got.every((m, i) => m.replay === true && (m.data as { pad: string }).pad.length === 700 * 1024 && (m.data as { i: number }).i === i)).toBe(true);
    }
  });
});
