/**
 * A resume whose replay is paced by a slow reader: the handshake is over once it is answered
 * (its timeout does not cut the replay), and the session's lock is not held through the replay
 * (another resume of the session is answered at once and takes over).
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/index.js';
import { MemoryStore } from '../../src/server/index.js';
import type { Cursor } from '../../src/server/connection.js';
import { GATE_BUFFER } from '../../src/server/rooms/delivery.js';
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

describe('live entries arriving during a long replay', () => {
  /**
   * A session in room `big` that missed 5 messages resumes; its replay's first read returns what
   * history held then, but only once `live` more messages have been published meanwhile (a long
   * replay while the room keeps going). Resolves with the resumed client and the server.
   */
  async function resumeDuringBurst(live: number, retention: { maxCount: number }) {
    const store = new MemoryStore();
    const read = store.read.bind(store);
    let hold: Promise<void> | undefined;
    let reads = 0;
    store.read = async (stream, after, limit) => {
      const result = await read(stream, after, limit);
      if (stream === 'room:big' && hold && reads++ === 0) await hold;
      return result;
    };
    const server = await startServer({ store, maxMessagesPerSecond: 0, retention });
    const { client, session } = await connectNew(server);
    client.send({ type: 'JOIN_ROOM', seq: 1, room: 'big' });
    const ack = await client.next('ROOM_JOINED_ACK');
    client.ws.terminate();
    await client.closed;
    for (let i = 1; i <= 5; i++) await server.publish('big', { i });
    let go!: () => void;
    hold = new Promise<void>((r) => (go = r));
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: { 'room:big': { epoch: ack.epoch, offset: ack.offset } }, lastAckedSeq: 1 });
    expect(await back.next('STATE_RECOVERED')).toMatchObject({ recovered: true });
    for (let i = 6; i <= 5 + live; i++) await server.publish('big', { i });
    // White-box: the gated cursor of the resumed connection holds at most GATE_BUFFER entries.
    const hub = (server as unknown as { hub: { connections: Map<string, { cursors: Map<string, Cursor> }> } }).hub;
    const cursor = [...hub.connections.values()].map((c) => c.cursors.get('room:big')).find((c) => c?.gated);
    expect(cursor?.buffer.length).toBe(Math.min(live, GATE_BUFFER));
    expect(cursor?.overflowed).toBe(live > GATE_BUFFER);
    go();
    return { server, back };
  }

  it('are buffered up to GATE_BUFFER per connection; the rest is read back from the store: every message once, in order', async () => {
    const live = GATE_BUFFER + 500;
    const { server, back } = await resumeDuringBurst(live, { maxCount: 10_000 });
    const got = await back.messages('room:big', 5 + live, 10_000);
    expect(got.map((m) => (m.data as { i: number }).i)).toEqual(Array.from({ length: 5 + live }, (_, i) => i + 1));
    expect((await back.next('REPLAY_DONE')).replayed).toBeGreaterThanOrEqual(5 + 500);
    // nothing more, nothing twice: the next live message is the next one delivered
    await server.publish('big', { i: 6 + live });
    expect(((await back.messages('room:big', 1, 5000))[0]!.data as { i: number }).i).toBe(6 + live);
    expect(back.received.filter((f) => f.type === 'ERROR')).toEqual([]);
  });

  it('history trimmed meanwhile: the hole is reported (ERR_HISTORY_GAP) and everything still retained follows, once, in order', async () => {
    const live = GATE_BUFFER + 500;
    const { back } = await resumeDuringBurst(live, { maxCount: 1000 });
    // retention kept the last 1000 of 5 + live: offsets live - 994 .. live + 5
    const firstKept = 5 + live - 1000 + 1;
    const got = await back.messages('room:big', 5 + 1000, 10_000);
    expect(got.map((m) => (m.data as { i: number }).i)).toEqual([1, 2, 3, 4, 5, ...Array.from({ length: 1000 }, (_, i) => firstKept + i)]);
    const errors = back.received.filter((f) => f.type === 'ERROR');
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_HISTORY_GAP', stream: 'room:big' })]);
  });
});
