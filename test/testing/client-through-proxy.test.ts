/**
 * The proxy used the way docs/testing.md shows: ReconnectingWebSocket clients and the reference
 * server, with RST and FIN cuts, a mid-frame cut and a half-open stall between them. Every
 * message must reach the other client exactly once and in order (compared by id).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket } from '../../src/index.js';
import type { ReceivedMessage } from '../../src/index.js';
import { createServer } from '../../src/server/index.js';
import { createFaultProxy } from '../../src/testing/index.js';
import type { FaultProxy } from '../../src/testing/index.js';
import { Teardown, until } from './harness.js';

let teardown: Teardown;
beforeEach(() => {
  teardown = new Teardown();
});
afterEach(() => teardown.run());

function client(proxy: FaultProxy): ReconnectingWebSocket {
  const ws = new ReconnectingWebSocket(proxy.url('ws'), {
    initialReconnectDelay: 20,
    maxReconnectDelay: 100,
    heartbeatInterval: 100,
    heartbeatTimeout: 200,
    // A connection stalled during its handshake is only noticed by the connect timeout.
    connectTimeout: 1000,
  });
  ws.on('error', () => {});
  teardown.add(() => ws.close());
  return ws;
}

describe('FaultProxy with ReconnectingWebSocket and the reference server', () => {
  it('delivers every message exactly once, in order, across RST, FIN, mid-frame cuts and a stall', async () => {
    // Short heartbeats on both sides, so a stalled (half-open) link is noticed quickly.
    const server = await createServer({ port: 0, host: '127.0.0.1', heartbeatInterval: 100, heartbeatTimeout: 200 });
    teardown.add(() => server.close());
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
    teardown.add(() => proxy.close());

    const receiver = client(proxy);
    const sender = client(proxy);
    const got: string[] = [];
    receiver.on('message', (m: ReceivedMessage) => {
      if (m.room === 'r' && !m.self && m.id !== undefined) got.push(m.id);
    });
    await Promise.all([receiver.join('r'), sender.join('r')]);

    const ids: string[] = [];
    const acks: Array<Promise<unknown>> = [];
    const sendBatch = (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = `m${ids.length}`;
        ids.push(id);
        acks.push(sender.send({ n: ids.length }, { room: 'r', id }));
      }
    };
    const reconnected = async (before: number) => until(() => proxy.stats.accepted >= before + 2, 'both clients back through the proxy');

    sendBatch(10);
    await until(() => got.length >= 5, 'first messages');
    let accepted = proxy.stats.accepted;
    proxy.cut({ mode: 'rst' });
    sendBatch(10);
    await reconnected(accepted);

    accepted = proxy.stats.accepted;
    proxy.cut({ mode: 'fin' });
    sendBatch(10);
    await reconnected(accepted);

    await until(() => got.length === ids.length, 'messages before the mid-frame cut');
    accepted = proxy.stats.accepted;
    const midFrame = proxy.connection([...proxy.connections()].find((c) => c.state === 'open')!.id)!;
    const cut = midFrame.cutMidFrame({ direction: 'toClient' });
    sendBatch(10);
    expect(await cut).toBe(true);

    // Half-open: only the connections open now stall; the reconnections get through.
    await until(() => receiver.status === 'open' && sender.status === 'open' && proxy.connections().filter((c) => c.state === 'open').length === 2, 'both clients open');
    accepted = proxy.stats.accepted;
    for (const c of proxy.openConnections()) c.stall();
    sendBatch(10);
    await reconnected(accepted);

    await Promise.all(acks);
    await until(() => got.length >= ids.length, 'every message at the receiver');
    expect(got).toEqual(ids);
    expect(proxy.stats.faults).toMatchObject({ rst: 2, fin: 2, midFrame: 1, stall: 2 });
  });
});
