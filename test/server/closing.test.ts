/**
 * Frames that arrive after the server started closing a connection: their answers could not be
 * sent any more, so processing them would only turn a clean re-send into a duplicate (a session
 * that expires before the client is back re-sends under a new session what the server processed
 * without acknowledging).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';
import { startServer, teardown, until, realClient, roomLog } from './helpers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } } as never;
afterEach(teardown);

const open = (url: string, options: ReconnectingWebSocketOptions = {}): ReconnectingWebSocket => realClient(url, options);

describe('frames arriving while the server closes the connection', () => {
  it.each([
    ['the session is resumed', 60_000],
    ['the session expired meanwhile', 200],
  ] as const)('are not processed: every id once, in order, when %s', async (_, sessionTtl) => {
    const server = await startServer({ logger: quiet, sessionTtl, sweepInterval: 60_000 });
    const watcher = open(server.url, { sessionKey: 'watcher' });
    const { got } = roomLog(watcher, 'r');
    // Back only after the short session expired.
    const sender = open(server.url, { sessionKey: 'sender', initialReconnectDelay: 500, maxReconnectDelay: 500, jitter: 'none' });
    await Promise.all([watcher.join('r'), sender.join('r')]);
    const total = 30;
    const expected = Array.from({ length: total }, (_, i) => `m${i + 1}`);
    for (let round = 0; round < 3; round++) {
      const batch = expected.slice(round * 10, round * 10 + 10);
      // The client sends on while the server's close (4008) is under way.
      await server.disconnect(sender.sessionId!, 4008);
      const sends = batch.map((d) => sender.send(d, { room: 'r' }));
      await new Promise((r) => setTimeout(r, 300));
      await server.sweepExpiredSessions();
      await Promise.all(sends);
    }
    await until(() => got.length >= total, `${total} messages at the watcher (have ${got.length})`);
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(expected);
  });
});
