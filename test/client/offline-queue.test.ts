import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OfflineQueue } from '../../src/client/offline-queue.js';
import type { Operation } from '../../src/client/offline-queue.js';
import { ResilientSocketError } from '../../src/protocol/index.js';

const msg = (id: string): Operation => ({ type: 'MESSAGE', id, data: id });
const big = { maxLength: Infinity, maxBytes: Infinity };

describe('OfflineQueue', () => {
  it('numbers operations consecutively and acknowledges cumulatively', () => {
    const q = new OfflineQueue(big);
    for (const id of ['a', 'b', 'c']) q.push(msg(id), 10);
    expect(q.items().map((i) => i.seq)).toEqual([1, 2, 3]);
    expect(q.ack(2).map((i) => i.seq)).toEqual([1, 2]);
    expect(q.ack(2)).toEqual([]); // a duplicate ack settles nothing
    expect(q.lastAckedSeq).toBe(2);
    expect(q.length).toBe(1);
    expect(q.bytes).toBe(10);
  });

  it('refuses with ERR_QUEUE_FULL at maxLength and at maxBytes, never dropping silently', () => {
    const q = new OfflineQueue({ maxLength: 2, maxBytes: 100 });
    q.push(msg('a'), 10);
    q.push(msg('b'), 10);
    expect(() => q.push(msg('c'), 10)).toThrowError(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }) as Error);
    const byBytes = new OfflineQueue({ maxLength: 10, maxBytes: 15 });
    byBytes.push(msg('a'), 10);
    let error: unknown;
    try {
      byBytes.push(msg('b'), 10);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ResilientSocketError);
    expect(byBytes.items().map((i) => (i.op as { id: string }).id)).toEqual(['a']);
    // Forced items (re-joins after a new session) pass the bound.
    q.push({ type: 'JOIN_ROOM', room: 'r' }, 10, true);
    expect(q.length).toBe(3);
  });

  it('renumbers from 1 after a new session with the re-joins first', () => {
    const q = new OfflineQueue(big);
    q.push(msg('a'), 1);
    q.push(msg('b'), 1);
    q.ack(1);
    q.renumber([{ op: { type: 'JOIN_ROOM', room: 'r' }, bytes: 1 }]);
    expect(q.items().map((i) => [i.seq, i.op.type])).toEqual([
      [1, 'JOIN_ROOM'],
      [2, 'MESSAGE'],
    ]);
    expect(q.nextSeq).toBe(3);
    expect(q.lastAckedSeq).toBe(0);
  });

  it('removes an unsent item and closes the gap', () => {
    const q = new OfflineQueue(big);
    for (const id of ['a', 'b', 'c']) q.push(msg(id), 1);
    q.remove(2);
    expect(q.items().map((i) => [i.seq, (i.op as { id: string }).id])).toEqual([
      [1, 'a'],
      [2, 'c'],
    ]);
    expect(q.nextSeq).toBe(3);
  });

  it('numbers new operations after the server\'s lastSeq even if local numbering fell behind', () => {
    const q = new OfflineQueue(big);
    q.push(msg('a'), 1);
    expect(q.settleUpTo(5).map((i) => i.seq)).toEqual([1]);
    expect(q.push(msg('b'), 1).seq).toBe(6);
  });

  it('restores a snapshot, marking items as restored', () => {
    const q = new OfflineQueue(big);
    for (const id of ['a', 'b', 'c']) q.push(msg(id), 1);
    q.ack(1);
    const r = new OfflineQueue({ maxLength: 1, maxBytes: 1 }, JSON.parse(JSON.stringify(q.snapshot())));
    expect(r.items().map((i) => [i.seq, i.restored])).toEqual([
      [2, true],
      [3, true],
    ]);
    expect(r.nextSeq).toBe(4);
    expect(r.lastAckedSeq).toBe(1);
  });

  it('stores each item as its frame text, and restores it with the operation and the same text to send', () => {
    const q = new OfflineQueue(big);
    q.push({ type: 'MESSAGE', id: 'é', data: { deep: [1, 'ü'] }, room: 'r' }, 1);
    q.push({ type: 'JOIN_ROOM', room: 'x', since: { epoch: 'e', offset: 4 } }, 1);
    const snap = JSON.parse(JSON.stringify(q.snapshot()));
    expect(snap.items.every((i: unknown) => typeof i === 'string')).toBe(true);
    const r = new OfflineQueue(big, snap);
    expect(r.items().map((i) => [i.seq, i.op, i.restored])).toEqual([
      [1, { type: 'MESSAGE', id: 'é', data: { deep: [1, 'ü'] }, room: 'r' }, true],
      [2, { type: 'JOIN_ROOM', room: 'x', since: { epoch: 'e', offset: 4 } }, true],
    ]);
    expect(r.items().map((i) => i.encoded?.text)).toEqual(snap.items);
    expect(r.bytes).toBe(snap.items.reduce((n: number, t: string) => n + new TextEncoder().encode(t).length, 0));
    expect(new Set(r.items().map((i) => i.key)).size).toBe(2);
  });

  it('restores a snapshot of the older object format, and skips an unreadable item', () => {
    const legacy = {
      nextSeq: 4,
      nextKey: 9,
      lastAckedSeq: 1,
      items: [
        { key: 7, seq: 2, op: msg('b'), bytes: 5 },
        { key: 8, seq: 3, op: msg('c'), bytes: 5 },
      ],
    };
    const r = new OfflineQueue(big, legacy);
    expect(r.items().map((i) => [i.key, i.seq, (i.op as { id: string }).id, i.restored])).toEqual([
      [7, 2, 'b', true],
      [8, 3, 'c', true],
    ]);
    expect(r.bytes).toBe(10);
    const broken = new OfflineQueue(big, { nextSeq: 4, nextKey: 1, lastAckedSeq: 1, items: ['{"type":"MESSAGE","id":"b","data":1,"seq":2}', '{not json', '{"type":"MESSAGE","id":"d","data":1,"seq":3}'] });
    // the unreadable one is skipped; numbering never reuses a seq
    expect(broken.items().map((i) => i.seq)).toEqual([2, 3]);
    expect(broken.push(msg('e'), 1).seq).toBe(4);
  });

  // A lossy link and a server that deduplicates by seq (as docs/protocol.md says): whatever is
  // lost, duplicated or cut, every message is processed once, in order, and settled once.
  it('exactly once and in order under random loss, cuts and session renewals (property)', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), count: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('deliver' as const), lose: fc.boolean(), loseAck: fc.boolean() }),
      fc.record({ kind: fc.constant('cut' as const) }),
      fc.record({ kind: fc.constant('newSession' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const q = new OfflineQueue(big);
        let nextId = 0;
        const sentOrder: string[] = [];
        const settled: string[] = [];
        // Server side of the current session.
        let lastSeq = 0;
        const processed: string[] = [];
        let inFlight: Array<{ seq: number; id: string }> = [];
        const settle = (items: ReturnType<OfflineQueue['ack']>) => settled.push(...items.map((i) => (i.op as { id: string }).id));
        const transmitAll = () => {
          inFlight = q.items().map((i) => ({ seq: i.seq, id: (i.op as { id: string }).id }));
        };
        for (const s of steps) {
          if (s.kind === 'send') {
            for (let n = 0; n < s.count; n++) {
              const id = `m${nextId++}`;
              sentOrder.push(id);
              q.push(msg(id), 1);
            }
            transmitAll();
          } else if (s.kind === 'deliver') {
            const frame = inFlight.shift();
            if (!frame || s.lose) continue;
            if (frame.seq === lastSeq + 1) {
              lastSeq = frame.seq;
              processed.push(frame.id);
            } else if (frame.seq > lastSeq + 1) continue; // out of order: refused
            if (!s.loseAck) settle(q.ack(frame.seq));
          } else if (s.kind === 'cut') {
            // Reconnect and resume: STATE_RECOVERED.lastSeq settles, the rest is re-sent.
            settle(q.settleUpTo(lastSeq));
            transmitAll();
          } else {
            // The session expired: a new one starts; unacked operations are renumbered. The old
            // session's processing is final, so the model treats anything it processed as done.
            settle(q.ack(lastSeq));
            q.renumber();
            lastSeq = 0;
            transmitAll();
          }
        }
        // Drain: a perfect link until everything is settled.
        settle(q.ack(lastSeq));
        for (const i of q.items()) {
          const id = (i.op as { id: string }).id;
          expect(i.seq).toBe(lastSeq + 1);
          lastSeq = i.seq;
          processed.push(id);
        }
        settle(q.ack(lastSeq));
        expect(q.length).toBe(0);
        expect(processed).toEqual(sentOrder);
        expect(settled).toEqual(sentOrder);
      }),
      { numRuns: 300 },
    );
  });
});
