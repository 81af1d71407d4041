/**
 * The client through the fault-injecting TCP proxy (src/testing) in front of the real reference
 * server: RST cuts, frames cut in the middle, a half-open (stalled) connection, refused
 * connections — while both clients keep sending. Every message is then accounted for by id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createFaultProxy } from '../../src/testing/index.js';
import { connect, onTeardown, startServer, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

describe('client through a fault proxy', () => {
  it('exactly once and in order in both directions through cuts, torn frames, a stall and refusals', async () => {
    const server = await startServer({ maxMessagesPerSecond: 100_000 });
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
    onTeardown(() => proxy.close());
    const options = { heartbeatInterval: 100, heartbeatTimeout: 200, connectTimeout: 1000 };
    const a = connect(proxy.url(), options);
    const b = connect(proxy.url(), options);
    await Promise.all([a.ws.join('chaos'), b.ws.join('chaos')]);
    const N = 40;
    let i = 0;
    const sends: Array<Promise<unknown>> = [];
    const burst = (n: number) => {
      for (let k = 0; k < n && i < N; k++, i++) {
        sends.push(a.ws.send(i, { room: 'chaos', id: `a-${i}` }));
        sends.push(b.ws.send(i, { room: 'chaos', id: `b-${i}` }));
      }
    };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    burst(5);
    proxy.cut({ mode: 'rst' });
    burst(5);
    await pause(30);
    proxy.cut({ mode: 'fin' });
    burst(5);
    await waitFor(() => a.ws.status === 'open' && b.ws.status === 'open', 'both back after the cuts');
    const closes = new Map([a, b].map((c) => [c, 0]));
    for (const c of [a, b]) c.ws.on('close', () => closes.set(c, closes.get(c)! + 1));
    const torn = proxy.cutMidFrame({ direction: 'toClient' });
    burst(5);
    const hit = await torn;
    // Only the connections whose next frame was torn were cut; wait until they are back.
    await waitFor(() => [...closes.values()].reduce((x, y) => x + y, 0) >= hit && a.ws.status === 'open' && b.ws.status === 'open', 'both back after the torn frame');
    // Both settled on healthy connections (a cut is noticed well within the pause)...
    for (let tries = 0; tries < 20; tries++) {
      await waitFor(() => a.ws.status === 'open' && b.ws.status === 'open', 'both open');
      const before = [...closes.values()].reduce((x, y) => x + y, 0);
      await pause(300);
      if (a.ws.status === 'open' && b.ws.status === 'open' && [...closes.values()].reduce((x, y) => x + y, 0) === before) break;
    }
    // ...then half-open: nothing moves, nobody closes. Only the heartbeat can tell.
    proxy.stall();
    burst(5);
    await waitFor(() => a.errors.includes('ERR_HEARTBEAT_TIMEOUT') && b.errors.includes('ERR_HEARTBEAT_TIMEOUT'), 'both heartbeats to fire', 5000);
    proxy.refuse(true);
    burst(5);
    await pause(100);
    proxy.reset();
    burst(N);

    await Promise.all(sends);
    await waitFor(() => a.messages.length >= 2 * N && b.messages.length >= 2 * N, 'every message on both sides', 15_000);
    await pause(50);
    for (const client of [a, b]) {
      const ids = client.ids('chaos');
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.filter((id) => id.startsWith('a-'))).toEqual(Array.from({ length: N }, (_, k) => `a-${k}`));
      expect(ids.filter((id) => id.startsWith('b-'))).toEqual(Array.from({ length: N }, (_, k) => `b-${k}`));
      const offsets = client.messages.map((m) => m.offset!);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, k) => offsets[0]! + k));
    }
    expect(a.ws.stats.reconnects).toBeGreaterThanOrEqual(3);
  });
});
