/**
 * In Node (`ws`), the frames a client sends in one turn leave in writes of up to
 * MAX_BATCH_FRAMES frames of its TCP socket (corked until the turn's work is done, cut after
 * that many), in order; against the real server every one arrives once and is acknowledged.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketConstructor, WebSocketLike } from '../../src/client/web-socket-like.js';
import { frameWriter as browserFrameWriter } from '../../src/client/write-batch.browser.js';
import { MAX_BATCH_FRAMES } from '../../src/client/write-batch.js';
import { connect, startServer, teardownAll } from './integration-helpers.js';

afterEach(teardownAll);

/** `ws` that remembers its instances, so the test can watch the TCP socket under the client. */
function recordingWs(instances: WebSocket[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      instances.push(this);
    }
  } as unknown as WebSocketConstructor;
}

describe('write batching in Node', () => {
  it('sends the frames of one turn in writes of MAX_BATCH_FRAMES, in order, each acknowledged once', async () => {
    const server = await startServer({ maxMessagesPerSecond: 0 });
    const instances: WebSocket[] = [];
    const t = connect(server.url, { WebSocket: recordingWs(instances) });
    await t.opened();
    await t.ws.join('r');
    const socket = (instances.at(-1) as unknown as { _socket: Socket })._socket;
    let writes = 0;
    const write = socket._write.bind(socket);
    const writev = socket._writev?.bind(socket);
    socket._write = (...args: Parameters<Socket['_write']>) => {
      writes++;
      return write(...args);
    };
    if (writev) {
      socket._writev = (...args: Parameters<NonNullable<Socket['_writev']>>) => {
        writes++;
        return writev(...args);
      };
    }
    const sends = Array.from({ length: 50 }, (_, i) => t.ws.send(i, { room: 'r', id: `b${i}` }));
    const results = await Promise.all(sends);
    expect(MAX_BATCH_FRAMES).toBeLessThan(50);
    expect(writes).toBe(Math.ceil(50 / MAX_BATCH_FRAMES));
    expect(results.map((r) => r?.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const { entries } = await server.store.read('room:r', 0, 100);
    expect(entries.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => `b${i}`));
  });

  it('the browser build writes straight through and never reaches for a socket to cork', () => {
    const sent: unknown[] = [];
    const cork = (): never => {
      throw new Error('corked in a browser build');
    };
    const socket = { send: (data: unknown) => sent.push(data), _socket: { cork, uncork: cork } } as unknown as WebSocketLike;
    const writer = browserFrameWriter(socket);
    writer.send('a');
    writer.send('b');
    writer.flush();
    expect(sent).toEqual(['a', 'b']);
  });
});
