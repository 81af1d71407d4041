/**
 * A handler that fails for a reason other than a store outage (a bug, a transient error of a
 * custom store) must not leave the connection in a state the client cannot get out of: a room
 * gate closed for good, or a sequenced operation never answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import type { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import { TestClient, connectNew, startServer, teardown, until, realClient, roomLog } from './helpers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } } as never;
afterEach(teardown);

/** Resolves with `promise`, or rejects after `ms` (so a hang fails the test with a reason). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('a handler failing with a non-store error', () => {
  it('JOIN_ROOM with since whose replay fails: the connection ends and the resume replays everything once, in order', async () => {
    const store = new MemoryStore();
    const read = store.read.bind(store);
    let failReads = 0;
    store.read = async (stream, after, limit) => {
      if (failReads > 0 && stream === 'room:r') {
        failReads--;
        throw new Error('transient read failure');
      }
      return read(stream, after, limit);
    };
    const server = await startServer({ store, logger: quiet });
    for (let i = 1; i <= 5; i++) await server.publish('r', `old${i}`);
    const { epoch } = await store.info('room:r');
    const { client, session } = await connectNew(server);
    failReads = 1;
    client.send({ type: 'JOIN_ROOM', seq: 1, room: 'r', since: { epoch, offset: 2 } });
    expect(await client.next('ROOM_JOINED_ACK')).toMatchObject({ seq: 1, offset: 2 });
    expect((await within(client.closed, 3000, 'close')).code).toBe(1011);
    for (let i = 1; i <= 3; i++) await server.publish('r', `live${i}`);

    const resumed = await TestClient.open(server.url);
    resumed.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: { 'room:r': { epoch, offset: 2 } }, lastAckedSeq: 1 });
    expect(await resumed.next('STATE_RECOVERED')).toMatchObject({ recovered: true, lastSeq: 1 });
    const replayed = await resumed.messages('room:r', 6);
    expect(replayed.map((m) => m.data)).toEqual(['old3', 'old4', 'old5', 'live1', 'live2', 'live3']);
    await resumed.next('REPLAY_DONE');
    // The gate is open: live delivery goes on.
    await server.publish('r', 'after');
    expect((await resumed.messages('room:r', 1))[0]!.data).toBe('after');
  });

  it('MESSAGE whose append fails once: send() settles and the message is delivered exactly once', async () => {
    const store = new MemoryStore();
    const append = store.append.bind(store);
    let failAppends = 0;
    store.append = async (...args) => {
      if (failAppends > 0 && args[0] === 'room:r') {
        failAppends--;
        throw new Error('transient append failure');
      }
      return append(...args);
    };
    const server = await startServer({ store, logger: quiet });
    const open = (): ReconnectingWebSocket => realClient(server.url, { initialReconnectDelay: 10, maxReconnectDelay: 50 });
    const sender = open();
    const receiver = open();
    const { got } = roomLog(receiver, 'r');
    await Promise.all([sender.join('r'), receiver.join('r')]);
    failAppends = 1;
    // A single operation: nothing after it would reveal the missing ACK (a later seq would be
    // refused as out of order, which makes the client reconnect anyway).
    const result = await within(sender.send('x', { room: 'r' }), 5000, 'settled send()');
    expect(typeof result?.offset).toBe('number');
    expect(await within(sender.send('y', { room: 'r' }), 5000, 'settled send()')).toBeDefined();
    await until(() => got.length >= 2, 'both messages at the receiver');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['x', 'y']);
  });
});
