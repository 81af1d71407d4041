/**
 * The send hot path: each operation is encoded once at enqueue time and that text is what goes
 * on the wire (re-encoded only after a renumbering), and acknowledging a long queue one item at a time
 * keeps it consistent across the lazy compaction of acknowledged items.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OfflineQueue } from '../../src/client/offline-queue.js';
import type { Operation } from '../../src/client/offline-queue.js';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { FakeClock, fakeWebSocket, newSession, settle } from './fakes.js';

const open: ReconnectingWebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) if (ws.status !== 'closed') ws.close();
});

describe('OfflineQueue with a long queue acknowledged one by one', () => {
  it('settles each item once, in order, and keeps get/items/length/bytes consistent', () => {
    const q = new OfflineQueue({ maxLength: Infinity, maxBytes: Infinity });
    const n = 5000;
    for (let i = 1; i <= n; i++) q.push({ type: 'MESSAGE', id: `m${i}`, data: i } as Operation, 10);
    const settled: number[] = [];
    for (let seq = 1; seq <= n; seq++) {
      for (const item of q.ack(seq)) settled.push(item.seq);
      if (seq % 997 === 0 || seq === 1024 || seq === 2048) {
        expect(q.length).toBe(n - seq);
        expect(q.bytes).toBe((n - seq) * 10);
        expect(q.firstSeq).toBe(seq + 1);
        expect(q.get(seq)).toBeUndefined();
        expect(q.get(seq + 1)?.op).toMatchObject({ id: `m${seq + 1}` });
        expect(q.items()[0]?.seq).toBe(seq + 1);
        expect(q.snapshot().items).toHaveLength(n - seq);
      }
    }
    expect(settled).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(q.length).toBe(0);
    expect(q.lastSeq).toBe(0);
    // Numbering continues after the emptied queue.
    expect(q.push({ type: 'MESSAGE', id: 'next', data: 0 } as Operation, 10).seq).toBe(n + 1);
  });
});

describe('encoded once', () => {
  function setup() {
    const clock = new FakeClock();
    const fake = fakeWebSocket();
    const ws = new ReconnectingWebSocket('ws://example.test/socket', { WebSocket: fake.WebSocket, timers: clock, now: () => clock.now, jitter: 'none', storage: new MemoryStorage(), environment: {} });
    ws.on('error', () => undefined);
    open.push(ws);
    return { ws, clock, fake };
  }

  it('re-encodes with the new seq after a renumbering (a new session)', async () => {
    const t = setup();
    await settle();
    const first = t.fake.last();
    first.open();
    await settle();
    first.receive(newSession('s1'));
    await settle();
    void t.ws.send('a');
    void t.ws.send('b');
    await settle();
    first.receive({ type: 'ACK', seq: 1 });
    await settle();
    first.drop(1006);
    for (let i = 0; i < 100 && t.fake.sockets.length < 2; i++) await t.clock.advance(100);
    const second = t.fake.last();
    second.open();
    await settle();
    second.receive(newSession('s2', { reason: 'expired' }));
    await settle();
    expect(second.framesOf('MESSAGE').map((f) => [f.seq, f.data])).toEqual([[1, 'b']]);
  });

  it('refuses a payload JSON cannot carry, as before', async () => {
    const t = setup();
    await expect(t.ws.send((() => 1) as never)).rejects.toMatchObject({ code: 'ERR_BAD_FRAME' });
    await expect(t.ws.send(undefined as never)).rejects.toMatchObject({ code: 'ERR_BAD_FRAME' });
    await expect(t.ws.send(10n as never)).rejects.toMatchObject({ code: 'ERR_BAD_FRAME' });
  });
});
