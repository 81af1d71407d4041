/**
 * Fan-out across server processes: three reference-server processes share one Redis; messages
 * sent on one instance reach the room's members on the others in offset order, and stay in the
 * stream for a member that was away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/index.js';
import { Cluster } from '../helpers/cluster.js';
import { redisAvailable } from '../helpers/redis.js';
import { Peer, expectExactlyOnceInOrder, until } from './peers.js';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('fan-out across server processes', () => {
  let cluster: Cluster;
  const peers: Peer[] = [];
  beforeAll(async () => {
    cluster = await Cluster.start({ size: 3 });
  });
  afterAll(async () => {
    for (const peer of peers) peer.drop();
    await cluster?.close();
  });

  it('delivers messages sent on A and B to members on A, B and C in one offset order, and replays them to a member that was away', async () => {
    const [a, b, c] = cluster.urls as [string, string, string];
    const onA = new Peer('onA', a);
    const onB = new Peer('onB', b);
    const onC = new Peer('onC', c);
    // A member that joins on C, goes away, and comes back later through A.
    const awayStorage = new MemoryStorage();
    const away = new Peer('away', c, { storage: awayStorage, sessionKey: 'away' });
    peers.push(onA, onB, onC, away);
    await Promise.all([onA, onB, onC, away].map((p) => p.ws.join('fan')));
    away.drop();

    // Both senders at once, each in a burst: the stream interleaves them.
    const sent = new Set<string>();
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 25; i++) {
      for (const [peer, tag] of [[onA, 'a'], [onB, 'b']] as const) {
        const id = `${tag}-${i}`;
        sent.add(id);
        sends.push(peer.ws.send({ n: i }, { room: 'fan', id }));
      }
    }
    const acks = (await Promise.all(sends)) as Array<{ id: string; offset: number }>;
    expect(new Set(acks.map((ack) => ack.offset)).size).toBe(sent.size);

    for (const peer of [onA, onB, onC]) await until(() => peer.ids('fan').length >= sent.size, `${peer.name} to receive ${sent.size}`);
    const order = expectExactlyOnceInOrder(onA, 'fan', sent);
    expect(expectExactlyOnceInOrder(onB, 'fan', sent)).toEqual(order);
    expect(expectExactlyOnceInOrder(onC, 'fan', sent)).toEqual(order);
    // The one order is the order of the offsets the senders were acknowledged with.
    expect(order).toEqual([...acks].sort((x, y) => x.offset - y.offset).map((ack) => ack.id));
    // Each sender's messages in the order it sent them.
    expect(order.filter((id) => id.startsWith('a-'))).toEqual(Array.from({ length: 25 }, (_, i) => `a-${i}`));

    // Still in the stream: the member that was away resumes on A and gets all of it, replayed.
    const back = new Peer('back', a, { storage: awayStorage, sessionKey: 'away' });
    peers.push(back);
    await until(() => back.ids('fan').length >= sent.size, 'the returning member to catch up');
    expect(expectExactlyOnceInOrder(back, 'fan', sent)).toEqual(order);
    expect(back.opens[0]).toMatchObject({ recovered: true });
    expect(back.messages.every((m) => m.replayed)).toBe(true);
  });
});
