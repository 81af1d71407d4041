/**
 * A client whose frames arrive in one read (its whole queue flushed at once after a reconnect)
 * and pass `maxMessageBurst`: the frames before the limit are processed and acknowledged before
 * the cut, as documented. (Cut at once, they were skipped, and such a client never progressed.)
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, startServer, teardown } from './helpers.js';

afterEach(teardown);

describe('rate limit with a burst in one read', () => {
  it('processes and acknowledges the frames before the limit, then cuts with 4003', async () => {
    const burst = 20;
    const server = await startServer({ maxMessagesPerSecond: 1, maxMessageBurst: burst });
    const client = await TestClient.open(server.url);
    client.send({ type: 'HELLO', v: 1, rooms: ['r'] });
    await client.next('NEW_SESSION');
    // Corked: every frame leaves in one write, so the server reads them together.
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.cork();
    for (let seq = 1; seq <= 60; seq++) client.send({ type: 'MESSAGE', seq, id: `m${seq}`, room: 'r', data: seq });
    socket.uncork();
    expect((await client.closed).code).toBe(4003);
    const acked = client.received.filter((f) => f.type === 'ACK').map((f) => (f as { seq: number }).seq);
    expect(acked).toEqual(Array.from({ length: burst }, (_, i) => i + 1));
    expect(client.received.some((f) => f.type === 'ERROR' && f.code === 'ERR_RATE_LIMITED')).toBe(true);
    const { entries } = await server.store.read('room:r', 0, 100);
    expect(entries.map((e) => e.id)).toEqual(acked.map((seq) => `m${seq}`));
  });
});
