/**
 * `OfflineQueue.ackFirst`: the allocation-free ack of the first item leaves the queue exactly as
 * `ack` of the same seq does, and refuses any other seq.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OfflineQueue } from '../../src/client/offline-queue.js';

const limits = { maxLength: 10_000, maxBytes: 10_000_000 };

function filled(n: number): OfflineQueue {
  const q = new OfflineQueue(limits);
  for (let i = 0; i < n; i++) q.push({ type: 'MESSAGE', id: `m${i}`, data: i }, 10 + i);
  return q;
}

const state = (q: OfflineQueue) => ({ length: q.length, bytes: q.bytes, lastAckedSeq: q.lastAckedSeq, firstSeq: q.firstSeq, seqs: q.items().map((i) => i.seq) });

describe('OfflineQueue.ackFirst', () => {
  it('matches ack(seq) for the first seq, and does nothing for any other', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(fc.integer({ min: 0, max: 45 }), { maxLength: 30 }), (n, acks) => {
        const a = filled(n);
        const b = filled(n);
        for (const seq of acks) {
          const viaFirst = a.ackFirst(seq);
          if (viaFirst === undefined) {
            // not the first item: ackFirst left it alone; apply ack to both to keep them in step
            expect(seq === b.firstSeq && b.length > 0).toBe(false);
            a.ack(seq);
            b.ack(seq);
          } else {
            expect(b.ack(seq)).toEqual([viaFirst]);
          }
          expect(state(a)).toEqual(state(b));
        }
      }),
    );
  });
});
