/**
 * Folded acknowledgements (docs/protocol.md, "Folded acknowledgements"): a client that asks with
 * `foldAcks` gets the ACK of its room MESSAGE inside its own copy of the NEW_MESSAGE; everyone
 * else, and every other case, keeps the separate ACK. Real server on port 0, in-memory and Redis;
 * ids compared.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/protocol/index.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { TestClient, realClient, startServer, teardown, until } from './helpers.js';

const keyPrefix = uniquePrefix('folded-acks');
// Skipped loudly when Redis is unreachable, unless REQUIRE_REDIS=1 (CI), which fails instead.
const redisUp = await redisAvailable();
const kinds = redisUp ? (['memory', 'redis'] as const) : (['memory'] as const);
afterEach(teardown);
afterAll(async () => {
  if (redisUp) await deleteKeys(keyPrefix);
});

type NewMessage = Extract<ServerFrame, { type: 'NEW_MESSAGE' }>;
type Ack = Extract<ServerFrame, { type: 'ACK' }>;

function start(kind: 'memory' | 'redis'): Promise<ReferenceServer> {
  return startServer(kind === 'redis' ? { store: { redis: REDIS_URL, keyPrefix } } : {});
}

/** A raw client in `rooms`, with or without `foldAcks`. */
async function member(server: ReferenceServer, rooms: string[], foldAcks: boolean): Promise<TestClient> {
  const client = await TestClient.open(server.url);
  client.send({ type: 'HELLO', v: 1, rooms, ...(foldAcks ? { foldAcks: true } : {}) });
  await client.next('NEW_SESSION');
  return client;
}

/** Every acknowledgement `client` received, by seq: where it came from and the offset it names. */
function acksOf(client: TestClient): Map<number, Array<{ via: 'ACK' | 'NEW_MESSAGE'; offset: number | undefined; id?: string }>> {
  const acks = new Map<number, Array<{ via: 'ACK' | 'NEW_MESSAGE'; offset: number | undefined; id?: string }>>();
  const add = (seq: number, entry: { via: 'ACK' | 'NEW_MESSAGE'; offset: number | undefined; id?: string }) => acks.set(seq, [...(acks.get(seq) ?? []), entry]);
  for (const f of client.received) {
    if (f.type === 'ACK') add(f.seq, { via: 'ACK', offset: f.offset });
    else if (f.type === 'NEW_MESSAGE' && f.ack !== undefined) add(f.ack, { via: 'NEW_MESSAGE', offset: f.offset, id: f.id });
  }
  return acks;
}

const roomMessages = (client: TestClient, room: string): NewMessage[] => client.received.filter((f): f is NewMessage => f.type === 'NEW_MESSAGE' && f.room === room);

/** Pipeline `count` MESSAGEs to `room` (ids `<prefix>-<i>`); returns the ids in seq order. */
function publish(client: TestClient, room: string, prefix: string, count: number): Array<{ seq: number; id: string }> {
  const sent: Array<{ seq: number; id: string }> = [];
  for (let i = 1; i <= count; i++) {
    const seq = client.nextSeq();
    const id = `${prefix}-${i}`;
    client.send({ type: 'MESSAGE', seq, id, room, data: { i } });
    sent.push({ seq, id });
  }
  return sent;
}

/**
 * Every sent seq is acknowledged exactly once, at the offset where the sender's copy of that id
 * arrived, and the sender got each of its ids exactly once.
 */
function expectAckedOnce(client: TestClient, room: string, sent: Array<{ seq: number; id: string }>): void {
  const acks = acksOf(client);
  const copies = roomMessages(client, room);
  for (const { seq, id } of sent) {
    const mine = copies.filter((m) => m.id === id);
    expect(mine, `copies of ${id}`).toHaveLength(1);
    const got = acks.get(seq);
    expect(got, `acks of seq ${seq}`).toHaveLength(1);
    expect(got![0]!.offset).toBe(mine[0]!.offset);
    if (got![0]!.via === 'NEW_MESSAGE') expect(got![0]!.id).toBe(id);
  }
}

describe('folded acks, one sender', () => {
  it.each(kinds)('each message comes back once and each seq is acknowledged once at its offset (%s)', async (kind) => {
    const server = await start(kind);
    const sender = await member(server, ['r'], true);
    const other = await member(server, ['r'], false);
    const sent = publish(sender, 'r', 'a', 200);
    await until(() => acksOf(sender).size === 200 && roomMessages(sender, 'r').length === 200, 'every ack and copy');
    await until(() => roomMessages(other, 'r').length === 200, 'the other member got every message');
    expectAckedOnce(sender, 'r', sent);
    // The other member: every id once, in offset order, never an `ack`, no ACK frames.
    const others = roomMessages(other, 'r');
    expect(others.map((m) => m.id)).toEqual(sent.map((s) => s.id));
    expect(others.every((m) => m.ack === undefined)).toBe(true);
    expect(other.received.some((f) => f.type === 'ACK')).toBe(false);
    // The sender's copy is the other member's with `ack` added, nothing else.
    const byId = new Map(others.map((m) => [m.id, m]));
    for (const m of roomMessages(sender, 'r')) {
      const { ack: _ack, ...rest } = m;
      expect(rest).toEqual(byId.get(m.id));
    }
    const folded = roomMessages(sender, 'r').filter((m) => m.ack !== undefined).length;
    // In memory the fan-out runs before the append returns: alone, every ack is folded. With
    // Redis the server sends the sender's copy itself when the append returns and it is the next
    // offset the connection is due (nearly always here; pub/sub timing decides the rest).
    if (kind === 'memory') {
      expect(folded).toBe(200);
      expect(sender.received.some((f) => f.type === 'ACK')).toBe(false);
    } else expect(folded).toBeGreaterThan(0);
  });

  it.each(kinds)('a client without foldAcks gets a separate ACK for every message, and no ack field (%s)', async (kind) => {
    const server = await start(kind);
    const sender = await member(server, ['r'], false);
    const sent = publish(sender, 'r', 'old', 50);
    await until(() => sender.received.filter((f) => f.type === 'ACK').length === 50 && roomMessages(sender, 'r').length === 50, 'acks and copies');
    expect(roomMessages(sender, 'r').every((m) => m.ack === undefined)).toBe(true);
    expectAckedOnce(sender, 'r', sent);
    expect([...acksOf(sender).values()].every((a) => a[0]!.via === 'ACK')).toBe(true);
  });
});

describe('folded acks, busy room', () => {
  it.each(kinds)('two folding senders and a publisher at once: every id once to everyone, every seq acknowledged once (%s)', async (kind) => {
    const server = await start(kind);
    const a = await member(server, ['r'], true);
    const b = await member(server, ['r'], true);
    const sentA = publish(a, 'r', 'a', 300);
    const sentB = publish(b, 'r', 'b', 300);
    for (let i = 0; i < 100; i++) await server.publish('r', { server: i });
    const total = 700;
    await until(() => roomMessages(a, 'r').length >= total && roomMessages(b, 'r').length >= total, 'every message at both');
    await until(() => acksOf(a).size === 300 && acksOf(b).size === 300, 'every ack');
    expectAckedOnce(a, 'r', sentA);
    expectAckedOnce(b, 'r', sentB);
    for (const c of [a, b]) {
      const got = roomMessages(c, 'r');
      expect(got).toHaveLength(total);
      expect(new Set(got.map((m) => m.id)).size).toBe(total);
      // In offset order, no hole: the held copies never overtook or were overtaken.
      expect(got.map((m) => m.offset)).toEqual(Array.from({ length: total }, (_, i) => got[0]!.offset + i));
      // A folded ack is only ever on the connection's own messages.
      expect(got.filter((m) => m.ack !== undefined).every((m) => m.from === (c === a ? got.find((x) => x.id === 'a-1')!.from : got.find((x) => x.id === 'b-1')!.from))).toBe(true);
    }
  });
});

describe('folded acks: the separate ACK where no fold applies', () => {
  it('a duplicate is answered with a bare ACK and no copy', async () => {
    const server = await start('memory');
    const sender = await member(server, ['r'], true);
    sender.send({ type: 'MESSAGE', seq: sender.nextSeq(), id: 'd1', room: 'r', data: 1 });
    const first = await sender.next('NEW_MESSAGE');
    expect(first.ack).toBe(1);
    sender.send({ type: 'MESSAGE', seq: 1, id: 'd1', room: 'r', data: 1 });
    const again = await sender.next('ACK');
    expect(again).toEqual({ type: 'ACK', seq: 1 });
    expect(roomMessages(sender, 'r')).toHaveLength(1);
  });

  it('a direct message, a message to the hook and a refused message keep their ACK', async () => {
    const server = await start('memory');
    const sender = await member(server, ['r'], true);
    const session = sender.received.find((f) => f.type === 'NEW_SESSION') as Extract<ServerFrame, { type: 'NEW_SESSION' }>;
    sender.send({ type: 'MESSAGE', seq: sender.nextSeq(), id: 'dm', to: session.sessionId, data: 1 });
    const dm = await sender.next('NEW_MESSAGE');
    expect(dm.ack).toBeUndefined();
    const dmAck: Ack = await sender.next('ACK');
    expect(dmAck).toEqual({ type: 'ACK', seq: 1, offset: dm.offset });
    sender.send({ type: 'MESSAGE', seq: sender.nextSeq(), id: 'hook', data: 2 });
    expect(await sender.next('ACK')).toEqual({ type: 'ACK', seq: 2 });
    sender.send({ type: 'MESSAGE', seq: sender.nextSeq(), id: 'nope', room: 'elsewhere', data: 3 });
    const refused = await sender.next('ACK');
    expect(refused.seq).toBe(3);
    expect(refused.error?.code).toBe('ERR_NOT_IN_ROOM');
  });

  it('a RECONNECT with foldAcks folds on the resumed connection; one without does not', async () => {
    const server = await start('memory');
    const first = await TestClient.open(server.url);
    first.send({ type: 'HELLO', v: 1, rooms: ['r'] });
    const session = await first.next('NEW_SESSION');
    first.send({ type: 'MESSAGE', seq: 1, id: 'x1', room: 'r', data: 1 });
    expect((await first.next('NEW_MESSAGE')).ack).toBeUndefined();
    expect((await first.next('ACK')).seq).toBe(1);
    first.close();
    await first.closed;
    const second = await TestClient.open(server.url);
    second.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 1, foldAcks: true });
    const recovered = await second.next('STATE_RECOVERED');
    await second.next('REPLAY_DONE');
    second.send({ type: 'MESSAGE', seq: 2, id: 'x2', room: 'r', data: 2 });
    const copy = await second.take((f): f is NewMessage => f.type === 'NEW_MESSAGE' && f.id === 'x2', 'x2');
    expect(copy.ack).toBe(2);
    expect(second.received.some((f) => f.type === 'ACK')).toBe(false);
    void recovered;
  });
});

describe('folded acks through the client', () => {
  it.each(kinds)('every send() resolves with the offset its own copy arrived at; each id delivered once (%s)', async (kind) => {
    const server = await start(kind);
    const client = realClient(server.url);
    const own = new Map<string, number[]>();
    client.on('message', (m) => {
      if (m.room === 'r' && m.self && m.id !== undefined && m.offset !== undefined) own.set(m.id, [...(own.get(m.id) ?? []), m.offset]);
    });
    await client.join('r');
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => client.send({ i }, { room: 'r', id: `c-${i}` })));
    await until(() => own.size === 300, 'every own copy');
    for (const r of results) {
      expect(r?.offset).toBeDefined();
      expect(own.get(r!.id)).toEqual([r!.offset]);
    }
    expect(client.stats.queueLength).toBe(0);
  });
});
