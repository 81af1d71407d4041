import { afterEach, describe, expect, it } from 'vitest';
import type { Json } from '../../src/protocol/index.js';
import type { ConnectionContext } from '../../src/server/index.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

describe('rooms and messages', () => {
  it('broadcasts a room message to every member, the sender included, and acks with its offset', async () => {
    const server = await startServer();
    const { client: a, session: sa } = await connectNew(server, ['lobby']);
    const { client: b } = await connectNew(server);
    b.send({ type: 'JOIN_ROOM', seq: 1, room: 'lobby' });
    const joined = await b.next('ROOM_JOINED_ACK');
    expect(joined).toMatchObject({ seq: 1, room: 'lobby', stream: 'room:lobby', offset: 0 });

    a.send({ type: 'MESSAGE', seq: 1, id: 'm1', room: 'lobby', data: { text: 'hi' } });
    const ack = await a.next('ACK');
    expect(ack).toEqual({ type: 'ACK', seq: 1, offset: 1 });
    for (const client of [a, b]) {
      const msg = await client.next('NEW_MESSAGE');
      expect(msg).toMatchObject({ stream: 'room:lobby', room: 'lobby', offset: 1, from: sa.sessionId, id: 'm1', data: { text: 'hi' } });
      expect(msg.replay).toBeUndefined();
    }
  });

  it('refuses a message to a room the session is not in, with an ACK carrying ERR_NOT_IN_ROOM', async () => {
    const server = await startServer();
    const { client } = await connectNew(server);
    client.send({ type: 'MESSAGE', seq: 1, id: 'm1', room: 'elsewhere', data: 1 });
    const ack = await client.next('ACK');
    expect(ack.error?.code).toBe('ERR_NOT_IN_ROOM');
    // The seq was consumed: the next one is accepted.
    client.send({ type: 'JOIN_ROOM', seq: 2, room: 'elsewhere' });
    expect((await client.next('ROOM_JOINED_ACK')).seq).toBe(2);
  });

  it('processes a re-sent seq once and acks it again', async () => {
    const server = await startServer();
    const { client: a } = await connectNew(server, ['r']);
    const { client: b } = await connectNew(server, ['r']);
    const frame = { type: 'MESSAGE', seq: 1, id: 'once', room: 'r', data: 1 } as const;
    a.send(frame);
    await a.next('ACK');
    a.send(frame);
    expect(await a.next('ACK')).toEqual({ type: 'ACK', seq: 1 });
    a.send({ type: 'MESSAGE', seq: 2, id: 'twice', room: 'r', data: 2 });
    await a.next('ACK');
    const got = await b.messages('room:r', 2);
    expect(got.map((m) => m.id)).toEqual(['once', 'twice']);
    await new Promise((r) => setTimeout(r, 50));
    expect(b.inbox.filter((f) => f.type === 'NEW_MESSAGE')).toHaveLength(0);
  });

  it('refuses a seq that skips ahead with ERR_OUT_OF_ORDER and stores nothing', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['r']);
    client.send({ type: 'MESSAGE', seq: 3, id: 'early', room: 'r', data: 1 });
    const error = await client.next('ERROR');
    expect(error).toMatchObject({ code: 'ERR_OUT_OF_ORDER', seq: 3 });
    expect((await server.store.info('room:r')).lastOffset).toBe(0);
  });

  it('delivers a direct message into the target session stream, and refuses unknown targets', async () => {
    const server = await startServer();
    const { client: a, session: sa } = await connectNew(server);
    const { client: b, session: sb } = await connectNew(server);
    a.send({ type: 'MESSAGE', seq: 1, id: 'dm', to: sb.sessionId, data: 'psst' });
    expect((await a.next('ACK')).offset).toBe(1);
    const msg = await b.next('NEW_MESSAGE');
    expect(msg).toMatchObject({ stream: `session:${sb.sessionId}`, from: sa.sessionId, id: 'dm', data: 'psst' });
    expect(msg.room).toBeUndefined();
    a.send({ type: 'MESSAGE', seq: 2, id: 'dm2', to: 'no-such-session', data: 1 });
    expect((await a.next('ACK')).error?.code).toBe('ERR_UNKNOWN_TARGET');
  });

  it('hands messages without room or to to onMessage, which may answer with sendTo', async () => {
    const seen: Array<{ sessionId: string; data: Json; id: string }> = [];
    const server = await startServer({
      onMessage: async (ctx: ConnectionContext, data: Json, id: string) => {
        seen.push({ sessionId: ctx.sessionId, data, id });
        await server.sendTo(ctx.sessionId, { echo: data });
      },
    });
    const { client, session } = await connectNew(server);
    client.send({ type: 'MESSAGE', seq: 1, id: 'req', data: 'ping' });
    expect(await client.next('ACK')).toEqual({ type: 'ACK', seq: 1 });
    const reply = await client.next('NEW_MESSAGE');
    expect(reply).toMatchObject({ from: null, data: { echo: 'ping' }, stream: `session:${session.sessionId}` });
    expect(seen).toEqual([{ sessionId: session.sessionId, data: 'ping', id: 'req' }]);
  });

  it('answers a throwing onMessage hook with ERR_INTERNAL and keeps serving', async () => {
    const server = await startServer({
      onMessage: () => {
        throw new Error('boom');
      },
    });
    const { client } = await connectNew(server, ['r']);
    client.send({ type: 'MESSAGE', seq: 1, id: 'x', data: 1 });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_INTERNAL', seq: 1 });
    expect((await client.next('ACK')).error?.code).toBe('ERR_INTERNAL');
    client.send({ type: 'MESSAGE', seq: 2, id: 'y', room: 'r', data: 1 });
    expect((await client.next('ACK')).offset).toBe(1);
  });

  it('publishes server messages to a room with from null', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['news']);
    const entry = await server.publish('news', { headline: 'x' });
    const msg = await client.next('NEW_MESSAGE');
    expect(msg).toMatchObject({ from: null, id: entry.id, offset: entry.offset, data: { headline: 'x' } });
  });

  it('leaves a room: no more messages from it, and a re-sent leave is acknowledged again', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['r']);
    client.send({ type: 'LEAVE_ROOM', seq: 1, room: 'r' });
    expect(await client.next('ROOM_LEFT_ACK')).toEqual({ type: 'ROOM_LEFT_ACK', seq: 1, room: 'r' });
    client.send({ type: 'LEAVE_ROOM', seq: 1, room: 'r' });
    expect((await client.next('ROOM_LEFT_ACK')).seq).toBe(1);
    await server.publish('r', 1);
    client.send({ type: 'PING', t: 1 });
    await client.next('PONG');
    expect(client.inbox.filter((f) => f.type === 'NEW_MESSAGE')).toHaveLength(0);
  });

  it('joins with since and replays the retained history after it', async () => {
    const server = await startServer();
    for (let i = 1; i <= 5; i++) await server.publish('hist', i);
    const { client } = await connectNew(server);
    const epoch = (await server.store.info('room:hist')).epoch;
    client.send({ type: 'JOIN_ROOM', seq: 1, room: 'hist', since: { epoch, offset: 2 } });
    const ack = await client.next('ROOM_JOINED_ACK');
    expect(ack.offset).toBe(2);
    const replayed = await client.messages('room:hist', 3);
    expect(replayed.map((m) => [m.offset, m.replay])).toEqual([[3, true], [4, true], [5, true]]);
    await server.publish('hist', 6);
    const live = await client.next('NEW_MESSAGE');
    expect([live.offset, live.replay]).toEqual([6, undefined]);
  });

  it('joins with a since that history no longer covers: replays what is retained and says so', async () => {
    const server = await startServer({ retention: { maxCount: 2 } });
    for (let i = 1; i <= 5; i++) await server.publish('short', i);
    const { client } = await connectNew(server);
    const epoch = (await server.store.info('room:short')).epoch;
    client.send({ type: 'JOIN_ROOM', seq: 1, room: 'short', since: { epoch, offset: 1 } });
    // The position starts just before the oldest retained offset: 2..3 are the gap.
    expect((await client.next('ROOM_JOINED_ACK')).offset).toBe(3);
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_HISTORY_GAP', stream: 'room:short' });
    expect((await client.messages('room:short', 2)).map((m) => [m.offset, m.replay])).toEqual([[4, true], [5, true]]);
    client.send({ type: 'JOIN_ROOM', seq: 2, room: 'other', since: { epoch: 'stale-epoch', offset: 3 } });
    expect((await client.next('ROOM_JOINED_ACK')).offset).toBe(0);
    expect((await client.next('ERROR')).code).toBe('ERR_HISTORY_GAP');
    expect(client.inbox.filter((f) => f.type === 'NEW_MESSAGE')).toHaveLength(0);
  });

  it('answers AUTH with AUTH_OK and refuses switching user', async () => {
    const server = await startServer({ authenticate: ({ credentials }) => (typeof credentials === 'string' ? credentials : null) });
    const client = await TestClient.open(server.url);
    const session = await client.hello(undefined, 'alice');
    expect(session.user).toBe('alice');
    client.send({ type: 'AUTH', ref: 'r1', auth: 'alice' });
    expect(await client.next('AUTH_OK')).toEqual({ type: 'AUTH_OK', ref: 'r1', user: 'alice' });
    client.send({ type: 'AUTH', ref: 'r2', auth: 'mallory' });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_FORBIDDEN', ref: 'r2' });
  });
});
