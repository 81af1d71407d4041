/**
 * `resilient-socket/lite`: the plain-only client. Over a real `ws` echo server it reconnects and
 * delivers what was queued while offline; it refuses the protocol modes and operations; and a
 * bundler really leaves the protocol modules out of it (the point of the entry).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ReconnectingWebSocket } from '../../src/lite.js';
import type { ReceivedMessage } from '../../src/index.js';
import { ResilientSocketError } from '../../src/protocol/errors.js';
import { onTeardown, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

async function echoServer(): Promise<{ url: string; sockets: WebSocket[]; offered: string[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const sockets: WebSocket[] = [];
  const offered: string[] = [];
  wss.on('connection', (socket, request) => {
    sockets.push(socket);
    offered.push(request.headers['sec-websocket-protocol'] ?? '');
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : String(data)));
  });
  onTeardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of wss.clients) s.terminate();
        wss.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, sockets, offered };
}

function lite(url: string, options: ConstructorParameters<typeof ReconnectingWebSocket>[1] = {}): { ws: ReconnectingWebSocket; messages: ReceivedMessage[] } {
  const ws = new ReconnectingWebSocket(url, { initialReconnectDelay: 10, maxReconnectDelay: 50, environment: {}, ...options });
  const messages: ReceivedMessage[] = [];
  ws.on('message', (m) => messages.push(m));
  ws.on('error', () => {});
  onTeardown(() => ws.close());
  return { ws, messages };
}

describe('resilient-socket/lite', () => {
  it('is plain by default, offers no subprotocol, and delivers the offline queue once after a cut', async () => {
    const { url, sockets, offered } = await echoServer();
    const { ws, messages } = lite(url);
    await ws.send('first');
    expect(ws.mode).toBe('plain');
    await waitFor(() => messages.length === 1, 'the first echo');
    // The close event, not a poll of the status: the reconnect can be over before a poll sees it.
    const cut = new Promise((resolve) => ws.once('close', resolve));
    sockets.at(-1)!.terminate();
    await cut;
    const queued = ['q-1', 'q-2', 'q-3'].map((m) => ws.send(m));
    await Promise.all(queued);
    await waitFor(() => messages.length === 4, 'the queued echoes');
    expect(messages.map((m) => m.data)).toEqual(['first', 'q-1', 'q-2', 'q-3']);
    expect(ws.stats.reconnects).toBe(1);
    expect(offered).toEqual(['', '']);
  });

  it('refuses the protocol modes and operations', async () => {
    for (const mode of ['auto', 'protocol'] as const) {
      expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { mode })).toThrow(/options.mode must be 'plain'/);
    }
    const { ws } = lite('ws://127.0.0.1:1', { startClosed: true });
    // @ts-expect-error dispatch is not in the lite client's type; JavaScript callers get ERR_NOT_SUPPORTED
    for (const p of [ws.join('lobby'), ws.leave('lobby'), ws.dispatch('session', 1), ws.authenticate('t')]) {
      await expect(p).rejects.toBeInstanceOf(ResilientSocketError);
      await expect(p).rejects.toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    }
  });

  it('bundles without the protocol modules', async () => {
    const entry = fileURLToPath(new URL('../../src/lite.ts', import.meta.url));
    const result = await build({ entryPoints: [entry], bundle: true, write: false, metafile: true, format: 'esm', platform: 'browser', logLevel: 'silent' });
    const inputs = Object.keys(result.metafile.inputs);
    for (const name of ['client-session', 'state-binding', 'state-replica', 'state-sync', 'heartbeat', 'offline-queue', 'stream-positions', 'codec', 'patch', 'idb-keyval', 'default-storage']) {
      expect(inputs.filter((i) => i.includes(name)), name).toEqual([]);
    }
    expect(inputs.some((i) => i.endsWith('reconnecting-socket-base.ts'))).toBe(true);
  });
});
