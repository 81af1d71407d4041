/**
 * The client over real `ws` sockets against servers that are not the reference server: a bare
 * echo server (plain mode) and a protocol server that stops answering (heartbeat).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import { connect, onTeardown, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

async function wsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer; url: string; sockets: WebSocket[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const sockets: WebSocket[] = [];
  wss.on('connection', (socket) => sockets.push(socket));
  onTeardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of wss.clients) s.terminate();
        wss.close(() => resolve());
      }),
  );
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, sockets };
}

describe('plain mode against a bare ws echo server', () => {
  it('auto mode: a server that selects no subprotocol is plain (Node ws: "Server sent no subprotocol")', async () => {
    const { wss, url } = await wsServer({ handleProtocols: () => false });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(String(data))));
    const c = connect(url);
    await c.ws.send('hello');
    await waitFor(() => c.messages.length === 1, 'the echo');
    expect(c.messages[0]!.data).toBe('hello');
    expect(c.ws.mode).toBe('plain');
    expect(c.errors).toEqual([]);
  });

  it('auto mode detects the plain server, delivers the queue, echoes pass through, and it reconnects after a cut', async () => {
    const { wss, url, sockets } = await wsServer();
    const offered: string[] = [];
    wss.on('connection', (socket, request) => {
      offered.push(request.headers['sec-websocket-protocol'] ?? '');
      socket.on('message', (data, isBinary) => socket.send(isBinary ? data : String(data)));
    });
    const c = connect(url);
    const queued = c.ws.send('queued first');
    const compat: unknown[] = [];
    c.ws.onmessage = (e) => compat.push(e.data);
    await queued;
    expect(c.ws.mode).toBe('plain');
    // ws servers select the first offered subprotocol by default: the first connection echoed
    // the HELLO back, which told the client the server is plain; the second offered none.
    expect(offered).toEqual([SUBPROTOCOL, '']);
    await waitFor(() => compat.length === 1, 'the echo');
    expect(compat).toEqual(['queued first']);
    sockets.at(-1)!.terminate();
    await waitFor(() => c.ws.stats.reconnects === 1 && c.ws.status === 'open', 'the reconnection');
    await c.ws.send('after the cut');
    await waitFor(() => compat.length === 2, 'the second echo');
    expect(compat[1]).toBe('after the cut');
    expect(c.errors).toEqual([]);
  });

  it("mode 'plain' sends binary frames as they are", async () => {
    const { wss, url } = await wsServer();
    wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
    const c = connect(url, { mode: 'plain', binaryType: 'arraybuffer' });
    await c.ws.send(new Uint8Array([1, 2, 3]));
    await waitFor(() => c.messages.length === 1, 'the binary echo');
    expect(new Uint8Array(c.messages[0]!.data as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe('close() over real sockets', () => {
  it('closing while still connecting reports no error and never reconnects', async () => {
    const { wss } = await wsServer({ handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    let connections = 0;
    wss.on('connection', () => connections++);
    const c = connect(url, { mode: 'protocol' });
    await new Promise((r) => setTimeout(r, 0));
    c.ws.close();
    await waitFor(() => c.ws.status === 'closed', 'closed');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.errors).toEqual([]);
    expect(connections).toBeLessThanOrEqual(1);
    expect(c.ws.status).toBe('closed');
  });
});

describe('heartbeat over real sockets', () => {
  it('detects a protocol server that stops answering (half-open) and reconnects', async () => {
    let silent = false;
    const { wss, sockets } = await wsServer({ handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    let n = 0;
    wss.on('connection', (socket) => {
      const id = ++n;
      socket.on('message', (raw) => {
        if (silent && id === 1) return; // the first connection goes dead without closing
        const frame = JSON.parse(String(raw)) as { type: string; t?: number };
        if (frame.type === 'HELLO' || frame.type === 'RECONNECT') {
          socket.send(
            JSON.stringify({
              type: 'NEW_SESSION', v: 1, sessionId: `s${id}`, resumeToken: `t${id}`, user: null, rooms: {},
              heartbeat: { interval: 50, timeout: 100 }, limits: { maxPayload: 65536, maxRooms: 10, maxRate: 100 }, recovered: false,
            }),
          );
        } else if (frame.type === 'PING') socket.send(JSON.stringify({ type: 'PONG', t: frame.t }));
      });
    });
    const c = connect(url, { mode: 'protocol' });
    await c.opened();
    await waitFor(() => c.ws.stats.rtt !== null, 'a PONG');
    silent = true;
    await waitFor(() => c.errors.includes('ERR_HEARTBEAT_TIMEOUT'), 'the heartbeat timeout');
    await waitFor(() => c.ws.status === 'open' && c.ws.sessionId === 's2', 'the reconnection');
    expect(sockets.length).toBe(2);
  });
});
