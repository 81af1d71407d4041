/**
 * Crash safety: one of three server processes is killed with SIGKILL while clients send into a
 * room and receive from it; its clients resume on the others (round-robin, no sticky sessions).
 * Afterwards every message is accounted for by id: each acknowledged message reached every
 * member exactly once, in one offset order; none lost, none doubled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../helpers/cluster.js';
import { redisAvailable } from '../helpers/redis.js';
import { Peer, expectExactlyOnceInOrder, until, within } from './peers.js';

const hasRedis = await redisAvailable();

const CLIENTS = 6;
const PER_CLIENT = 30;
const ROOM = 'crash';

describe.skipIf(!hasRedis)('an instance killed during traffic', () => {
  let cluster: Cluster;
  const peers: Peer[] = [];
  const extra: Peer[] = [];
  beforeAll(async () => {
    cluster = await Cluster.start({ size: 3 });
  });
  afterAll(async () => {
    for (const peer of [...peers, ...extra]) peer.drop();
    await cluster?.close();
  });

  it('loses and doubles nothing acknowledged when a process is SIGKILLed mid-traffic', async () => {
    const urls = cluster.urls;
    // A load balancer without stickiness or health checks: the next instance, dead or alive.
    let next = 0;
    const balancer = (): string => urls[next++ % urls.length]!;
    for (let i = 0; i < CLIENTS; i++) peers.push(new Peer(`c${i}`, balancer));
    await Promise.all(peers.map((p) => p.ws.join(ROOM)));
    const victims = peers.filter((p) => p.urls[0] === urls[0]);
    expect(victims.length).toBeGreaterThan(0);

    const acked = new Map<string, string[]>();
    let ackCount = 0;
    const senders = peers.map(async (peer) => {
      const mine: string[] = [];
      acked.set(peer.name, mine);
      const pending: Array<Promise<unknown>> = [];
      for (let n = 0; n < PER_CLIENT; n++) {
        const id = `${peer.name}-${n}`;
        pending.push(
          peer.ws.send({ n }, { room: ROOM, id }).then(() => {
            mine.push(id);
            ackCount++;
          }),
        );
        // Spread the traffic so the kill lands in the middle of it.
        await new Promise((resolve) => setTimeout(resolve, 4));
      }
      await Promise.all(pending);
    });

    await until(() => ackCount >= (CLIENTS * PER_CLIENT) / 3, 'a third of the messages to be acknowledged');
    const ackedBeforeKill = ackCount;
    await cluster.kill(0, 'SIGKILL');
    expect(ackedBeforeKill).toBeLessThan(CLIENTS * PER_CLIENT);

    // The killed instance comes back on its port while (or after) the rest of the traffic flows.
    await until(() => ackCount >= (2 * CLIENTS * PER_CLIENT) / 3, 'two thirds of the messages to be acknowledged');
    await cluster.restart(0);
    await within(Promise.all(senders), 'every send to be acknowledged', 20_000);
    // Everyone, and a newcomer on the restarted instance, still gets live traffic.
    const newcomer = new Peer('newcomer', urls[0]!);
    extra.push(newcomer);
    await newcomer.ws.join(ROOM);
    const everyone = [...peers, newcomer];
    await Promise.all(everyone.map((p) => p.ws.send({ final: true }, { room: ROOM, id: `${p.name}-final` })));
    const finals = everyone.map((p) => `${p.name}-final`);
    for (const peer of peers) acked.get(peer.name)!.push(`${peer.name}-final`);
    await until(() => newcomer.ids(ROOM).length >= finals.length, 'the newcomer on the restarted instance to receive the final round');
    expectExactlyOnceInOrder(newcomer, ROOM, finals);
    const all = new Set([...[...acked.values()].flat(), 'newcomer-final']);
    expect(all.size).toBe(CLIENTS * (PER_CLIENT + 1) + 1);

    for (const peer of peers) await until(() => peer.ids(ROOM).length >= all.size, `${peer.name} to receive every message`);
    const order = expectExactlyOnceInOrder(peers[0]!, ROOM, all);
    for (const peer of peers.slice(1)) expect(expectExactlyOnceInOrder(peer, ROOM, all), `${peer.name}'s order`).toEqual(order);
    // Each sender's messages arrive in the order it sent them (its queue is FIFO, dedup by seq).
    for (const peer of peers) {
      expect(order.filter((id) => id.startsWith(`${peer.name}-`))).toEqual([...Array.from({ length: PER_CLIENT }, (_, n) => `${peer.name}-${n}`), `${peer.name}-final`]);
    }
    // The victims resumed elsewhere, recovering their sessions.
    for (const peer of victims) {
      expect(peer.opens.length, `${peer.name} reconnected`).toBeGreaterThan(1);
      expect(peer.opens.at(-1), `${peer.name} recovered`).toMatchObject({ recovered: true });
      expect(new Set(peer.opens.map((o) => o.sessionId)).size).toBe(1);
    }
    // The survivors never lost their connection.
    for (const peer of peers.filter((p) => !victims.includes(p))) expect(peer.opens).toHaveLength(1);
  });
});
