/**
 * `send()` promises the application ignores never cause an unhandled rejection, however they
 * fail: refused before queueing, refused by the server's ACK, abandoned by close(), suspended.
 * (The hot path marks its promise handled only when it rejects; this checks every way it can.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { connectedOnFake, settle } from './fakes.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
});

async function connected(options: Partial<ReconnectingWebSocketOptions> = {}) {
  process.on('unhandledRejection', onUnhandled);
  return connectedOnFake(options, undefined, (ws) => ws.on('error', () => {}));
}

/** Let Node run its unhandled-rejection check (after the microtasks of a macrotask). */
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('ignored send() promises', () => {
  it('refused before queueing, or by the server', async () => {
    const t = await connected({ maxQueueLength: 1 });
    void t.ws.send('x', { room: 'a b' });
    void t.ws.send(new Uint8Array(1));
    void t.ws.send('ok', { room: 'r' });
    void t.ws.send('full', { room: 'r' }); // ERR_QUEUE_FULL
    await settle();
    t.socket.receive({ type: 'ACK', seq: 1, error: { code: 'ERR_NOT_IN_ROOM', message: 'no' } });
    await tick();
    expect(unhandled).toEqual([]);
    t.ws.close();
  });

  it('abandoned by close(), and refused after it', async () => {
    const t = await connected();
    void t.ws.send('a', { room: 'r' });
    void t.ws.send('b', { room: 'r' });
    await settle();
    t.ws.close();
    void t.ws.send('c', { room: 'r' });
    await tick();
    expect(unhandled).toEqual([]);
  });

  it('rejected by a suspend (the session kept for another instance)', async () => {
    const t = await connected({ storage: new MemoryStorage() });
    void t.ws.send('a', { room: 'r' });
    await settle();
    t.ws.close(1000, '', { endSession: false });
    await tick();
    expect(unhandled).toEqual([]);
  });
});
