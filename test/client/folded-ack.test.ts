/**
 * The client's side of folded acknowledgements (`HELLO/RECONNECT.foldAcks`, `NEW_MESSAGE.ack`):
 * it asks for them, treats `ack` exactly like `ACK { seq, offset }` and then delivers the
 * message, and an `ack` from a hostile or broken server that names the wrong operation
 * acknowledges nothing (coded error, message still delivered, operation still queued).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ReceivedMessage } from '../../src/client/events.js';
import type { ResilientSocketError } from '../../src/protocol/index.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { connectedOnFake, settle, stateRecovered } from './fakes.js';

const open: ReconnectingWebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) if (ws.status !== 'closed') ws.close();
});

async function connected(answer?: Record<string, unknown>) {
  const errors: ResilientSocketError[] = [];
  const messages: ReceivedMessage[] = [];
  const order: string[] = [];
  const t = await connectedOnFake({ storage: new MemoryStorage() }, answer, (ws) => {
    open.push(ws);
    ws.on('error', (e) => errors.push(e));
    ws.on('message', (m) => {
      messages.push(m);
      order.push(`message ${m.id}`);
    });
    ws.on('sent', (s) => order.push(`sent ${s.id ?? s.kind}`));
  });
  return { ...t, errors, messages, order };
}

/** Drop the connection and open the socket the client reconnects with (bounded by the fake clock). */
async function dropAndReopen(t: Awaited<ReturnType<typeof connected>>) {
  t.socket.drop(1006);
  for (let i = 0; i < 100 && t.fake.sockets.length < 2; i++) await t.clock.advance(100);
  await settle();
  const second = t.fake.last();
  expect(second).not.toBe(t.socket);
  second.open();
  await settle();
  return second;
}

const copy = (id: string, offset: number, extra: Record<string, unknown> = {}) => ({
  type: 'NEW_MESSAGE',
  stream: 'room:r',
  epoch: 'e1',
  offset,
  room: 'r',
  from: 's1',
  id,
  data: id,
  ts: 1,
  ...extra,
});

describe('folded acks in the client', () => {
  it('asks for them in HELLO and in RECONNECT', async () => {
    const t = await connected();
    expect(t.socket.framesOf('HELLO')[0]!.foldAcks).toBe(true);
    const second = await dropAndReopen(t);
    expect(second.framesOf('RECONNECT')[0]!.foldAcks).toBe(true);
  });

  it('settles the send with the offset, removes it from the queue, then delivers the message once', async () => {
    const t = await connected();
    let result: unknown;
    void t.ws.send('m', { room: 'r', id: 'm1' }).then((r) => (result = r), () => {});
    await settle();
    expect(t.socket.framesOf('MESSAGE').map((f) => f.seq)).toEqual([1]);
    t.socket.receive(copy('m1', 1, { ack: 1 }));
    await settle();
    expect(result).toEqual({ id: 'm1', offset: 1 });
    expect(t.ws.stats.queueLength).toBe(0);
    expect(t.messages.map((m) => [m.id, m.offset, m.self])).toEqual([['m1', 1, true]]);
    expect(t.order).toEqual(['sent m1', 'message m1']);
    expect(t.errors).toEqual([]);
    // The position moved: a replay of the same offset is dropped.
    t.socket.receive(copy('m1', 1, { replay: true }));
    await settle();
    expect(t.messages).toHaveLength(1);
  });

  it('is cumulative, like ACK: settles every earlier operation too', async () => {
    const t = await connected();
    const results: unknown[] = [];
    void t.ws.send('a', { room: 'r', id: 'a' }).then((r) => results.push(r), () => {});
    void t.ws.send('b', { room: 'r', id: 'b' }).then((r) => results.push(r), () => {});
    await settle();
    t.socket.receive(copy('b', 2, { ack: 2 }));
    await settle();
    expect(results).toEqual([{ id: 'a' }, { id: 'b', offset: 2 }]);
  });

  it('an ack naming another operation acknowledges nothing: ERR_PROTOCOL, message delivered, the ACK settles later', async () => {
    const t = await connected();
    let result: unknown = 'pending';
    void t.ws.send('m', { room: 'r', id: 'm1' }).then((r) => (result = r), () => {});
    await settle();
    t.socket.receive(copy('someone-else', 1, { ack: 1, from: 's2' }));
    await settle();
    expect(result).toBe('pending');
    expect(t.ws.stats.queueLength).toBe(1);
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_PROTOCOL']);
    expect(t.messages.map((m) => m.id)).toEqual(['someone-else']);
    t.socket.receive({ type: 'ACK', seq: 1, offset: 2 });
    await settle();
    expect(result).toEqual({ id: 'm1', offset: 2 });
  });

  it('an ack for a seq never sent, or already settled, acknowledges nothing and breaks nothing', async () => {
    const t = await connected();
    let result: unknown = 'pending';
    void t.ws.send('m', { room: 'r', id: 'm1' }).then((r) => (result = r), () => {});
    await settle();
    t.socket.receive(copy('x', 1, { ack: 7 }));
    await settle();
    expect(result).toBe('pending');
    t.socket.receive({ type: 'ACK', seq: 1, offset: 5 });
    await settle();
    expect(result).toEqual({ id: 'm1', offset: 5 });
    t.socket.receive(copy('m1', 2, { ack: 1 }));
    await settle();
    expect(t.messages.map((m) => m.id)).toEqual(['x', 'm1']);
    expect(t.errors).toEqual([]);
  });

  it('a bad ack field is a bad frame (ERR_BAD_FRAME), not an acknowledgement', async () => {
    const t = await connected();
    let result: unknown = 'pending';
    void t.ws.send('m', { room: 'r', id: 'm1' }).then((r) => (result = r), () => {});
    await settle();
    for (const ack of [0, -1, 1.5, '1', null, true]) t.socket.receive(copy('m1', 1, { ack }));
    await settle();
    expect(result).toBe('pending');
    expect(t.errors.map((e) => e.code)).toEqual(Array(6).fill('ERR_BAD_FRAME'));
  });

  it('after a resume, lastSeq settles an operation whose folded copy was lost with the connection', async () => {
    const t = await connected();
    let result: unknown = 'pending';
    void t.ws.send('m', { room: 'r', id: 'm1' }).then((r) => (result = r), () => {});
    await settle();
    const second = await dropAndReopen(t);
    second.receive(stateRecovered('s1', 'tok-2', 1, { rooms: { r: { stream: 'room:r', epoch: 'e1', offset: 1 } } }));
    await settle();
    second.receive(copy('m1', 1, { replay: true }));
    await settle();
    expect(result).toEqual({ id: 'm1' });
    expect(second.framesOf('MESSAGE')).toEqual([]);
    expect(t.messages.map((m) => [m.id, m.replayed])).toEqual([['m1', true]]);
  });
});
