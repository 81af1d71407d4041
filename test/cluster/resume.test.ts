/**
 * Resume on another process: a client cut from instance A reconnects to instance B (as a load
 * balancer without sticky sessions would send it) and recovers its session, its rooms and every
 * message it missed, exactly as on one instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../helpers/cluster.js';
import { redisAvailable } from '../helpers/redis.js';
import { Peer, expectExactlyOnceInOrder, until } from './peers.js';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('resume on another server process', () => {
  let cluster: Cluster;
  const peers: Peer[] = [];
  beforeAll(async () => {
    cluster = await Cluster.start({ size: 2, args: ['--faults'] });
  });
  afterAll(async () => {
    for (const peer of peers) peer.drop();
    await cluster?.close();
  });

  it('recovers session, rooms, direct messages and missed room messages on B after a cut on A (ids compared, recovered: true)', async () => {
    const [a, b] = cluster.urls as [string, string];
    // The "load balancer": A first; every later attempt goes to B once the test opens the gate.
    let target = a;
    let openGate!: () => void;
    let gate: Promise<void> = Promise.resolve();
    const client = new Peer('client', async () => {
      await gate;
      return target;
    });
    const other = new Peer('other', b);
    peers.push(client, other);
    await Promise.all([client.ws.join('one'), client.ws.join('two'), other.ws.join('one'), other.ws.join('two')]);
    const sessionId = client.ws.sessionId!;
    const before = ['one-0', 'one-1'];
    for (const id of before) await other.ws.send({ id }, { room: 'one', id });
    await until(() => client.ids('one').length === 2, 'the live messages before the cut');
    // The client also talks while on A: its own messages are part of the room's history.
    const mine = await client.ws.send({ mine: true }, { room: 'two', id: 'mine-0' });
    expect(mine).toMatchObject({ id: 'mine-0' });

    // Cut it from A while no attempt may reach anything yet.
    gate = new Promise((resolve) => (openGate = resolve));
    target = b;
    const res = await fetch(`${cluster.at(0).httpUrl}/_faults/disconnect?session=${encodeURIComponent(sessionId)}`, { method: 'POST' });
    expect(res.status).toBe(204);
    await until(() => client.ws.status === 'reconnecting', 'the client to notice the cut');

    // Missed while away: room messages in both rooms and a direct message.
    const missedOne = ['one-2', 'one-3', 'one-4'];
    const missedTwo = ['two-0', 'two-1'];
    for (const id of missedOne) await other.ws.send({ id }, { room: 'one', id });
    for (const id of missedTwo) await other.ws.send({ id }, { room: 'two', id });
    await other.ws.send({ direct: true }, { to: sessionId, id: 'dm-0' });
    // The client queues while offline; it goes out once, after the resume.
    const queued = client.ws.send({ queued: true }, { room: 'one', id: 'queued-0' });

    const recovered = new Promise<{ recovered: boolean; replayed: number; sessionId: string }>((resolve) => client.ws.once('recovered', resolve));
    openGate();
    const info = await recovered;
    expect(info).toMatchObject({ recovered: true, sessionId });
    expect(client.opens.at(-1)).toMatchObject({ recovered: true });
    expect(client.ws.sessionId).toBe(sessionId);
    expect(client.urls.at(-1)).toBe(b);
    await queued;

    await until(() => client.ids('one').length >= 6 && client.ids('two').length >= 3, 'the replay');
    expect(expectExactlyOnceInOrder(client, 'one', [...before, ...missedOne, 'queued-0'])).toEqual([...before, ...missedOne, 'queued-0']);
    expect(expectExactlyOnceInOrder(client, 'two', ['mine-0', ...missedTwo])).toEqual(['mine-0', ...missedTwo]);
    const replayed = client.messages.filter((m) => m.replayed).map((m) => m.id);
    expect(replayed.sort()).toEqual([...missedOne, ...missedTwo, 'dm-0'].sort());
    expect(client.messages.filter((m) => m.id === 'dm-0')).toHaveLength(1);

    // Rooms were restored on B: live messages of both rooms reach it there, once.
    await other.ws.send({ live: true }, { room: 'two', id: 'two-live' });
    await until(() => client.ids('two').includes('two-live'), 'a live message after the resume');
    expectExactlyOnceInOrder(client, 'two', ['mine-0', ...missedTwo, 'two-live']);
    // The other member got the queued message exactly once.
    await until(() => other.ids('one').includes('queued-0'), 'the queued message at the other member');
    expectExactlyOnceInOrder(other, 'one', [...before, ...missedOne, 'queued-0']);
  });
});
