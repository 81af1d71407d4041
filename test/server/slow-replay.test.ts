/**
 * A resume whose replay is paced by a slow reader: the handshake is over once it is answered
 * (its timeout does not cut the replay), and the session's lock is not held through the replay
 * (another resume of the session is answered at once and takes over).
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/index.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

const blob = 'x'.repeat(50_000);

/** A session in room `big` that missed `count` large messages; the frame to resume it. */
async function missed(server: ReferenceServer, count: number): Promise<Record<string, unknown>> {
  const { client, session } = await connectNew(server);
  client.send({ type: 'JOIN_ROOM', seq: 1, room: 'big' });
  const ack = await client.next('ROOM_JOINED_ACK');
  client.ws.terminate();
  await client.closed;
  for (let i = 1; i <= count; i++) await server.publish('big', { i, blob });
  return { type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: { 'room:big': { epoch: ack.epoch, offset: ack.offset } }, lastAckedSeq: 1 };
}

/** The raw TCP socket under a `ws` client (to stop reading, as a slow link would). */
const socketOf = (client: TestClient): Socket => (client.ws as unknown as { _socket: Socket })._socket;

describe('a replay paced by a slow reader', () => {
  it('is not cut by handshakeTimeout: every message arrives once, in order, then REPLAY_DONE', async () => {
    const server = await startServer({ handshakeTimeout: 300, maxBufferedBytes: 256 * 1024 });
    const count = 400;
    const reconnect = await missed(server, count);
    const slow = await TestClient.open(server.url);
    socketOf(slow).pause();
    slow.send(reconnect);
    // Longer than handshakeTimeout; the replay waits on backpressure meanwhile.
    await new Promise((r) => setTimeout(r, 1000));
    socketOf(slow).resume();
    expect(await slow.next('STATE_RECOVERED')).toMatchObject({ recovered: true });
    const replayed = await slow.messages('room:big', count, 10_000);
    expect(replayed.map((m) => (m.data as { i: number }).i)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect((await slow.next('REPLAY_DONE')).replayed).toBe(count);
    expect(slow.received.filter((f) => f.type === 'ERROR')).toEqual([]);
    expect(slow.ws.readyState).toBe(slow.ws.OPEN);
  });

  it('does not hold the session: a second resume is answered while the first replay is stalled, and takes over', async () => {
    const server = await startServer({ maxBufferedBytes: 256 * 1024 });
    const reconnect = await missed(server, 400);
    const stalled = await TestClient.open(server.url);
    socketOf(stalled).pause();
    stalled.send(reconnect);
    await new Promise((r) => setTimeout(r, 300));
    const second = await TestClient.open(server.url);
    second.send(reconnect);
    // Well below the 30 s the stalled replay would wait on backpressure.
    expect(await second.next('STATE_RECOVERED', 3000)).toMatchObject({ recovered: true });
    expect((await second.messages('room:big', 400, 10_000)).map((m) => (m.data as { i: number }).i)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    await second.next('REPLAY_DONE');
    socketOf(stalled).resume();
    expect((await stalled.closed).code).toBe(4002);
  });
});
