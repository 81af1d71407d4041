import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamPositions } from '../../src/client/stream-positions.js';
import type { NewMessageFrame } from '../../src/protocol/index.js';

const m = (offset: number, stream = 'room:a', epoch = 'e1'): NewMessageFrame => ({
  type: 'NEW_MESSAGE',
  stream,
  epoch,
  offset,
  room: 'a',
  from: null,
  id: `id${offset}`,
  data: offset,
  ts: 0,
});

describe('StreamPositions', () => {
  it('delivers in order, drops duplicates and at-or-below-position offsets', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 3 } });
    expect(p.receive(m(3)).deliver).toEqual([]);
    expect(p.receive(m(4)).deliver.map((x) => x.offset)).toEqual([4]);
    expect(p.receive(m(4)).deliver).toEqual([]);
    expect(p.get('room:a')).toEqual({ epoch: 'e1', offset: 4 });
  });

  it('asks for a hole once with RESYNC and drains the buffer when it is filled', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 1 } });
    const r = p.receive(m(4));
    expect(r.resync).toEqual({ type: 'RESYNC', stream: 'room:a', epoch: 'e1', from: 2 });
    expect(p.receive(m(5)).resync).toBeUndefined();
    expect(p.receive(m(2)).deliver.map((x) => x.offset)).toEqual([2]);
    expect(p.receive(m(3)).deliver.map((x) => x.offset)).toEqual([3, 4, 5]);
  });

  it('skips an unrecoverable gap to the first buffered message', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 1 } });
    p.receive(m(7));
    p.receive(m(8));
    const r = p.skipGap('room:a');
    expect(r.from).toBe(2);
    expect(r.deliver.map((x) => x.offset)).toEqual([7, 8]);
  });

  it('starts over on a new epoch and reports it', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 9 } });
    const r = p.receive(m(1, 'room:a', 'e2'));
    expect(r.deliver.map((x) => x.offset)).toEqual([1]);
    expect(r.epochChanged).toEqual({ stream: 'room:a', from: 10 });
  });

  it('on a new epoch first seen past offset 1, fetches the new epoch from offset 1 before delivering', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 9 } });
    const r = p.receive(m(3, 'room:a', 'e2'));
    expect(r.deliver).toEqual([]);
    expect(r.epochChanged).toEqual({ stream: 'room:a', from: 10 });
    expect(r.resync).toEqual({ type: 'RESYNC', stream: 'room:a', epoch: 'e2', from: 1 });
    expect(p.get('room:a')).toEqual({ epoch: 'e2', offset: 0 });
    // the answer: 1 and 2, then the resent 3 (already buffered)
    expect(p.receive(m(4, 'room:a', 'e2')).resync).toBeUndefined(); // one RESYNC in flight
    expect(p.receive(m(1, 'room:a', 'e2')).deliver.map((x) => x.offset)).toEqual([1]);
    expect(p.receive(m(2, 'room:a', 'e2')).deliver.map((x) => x.offset)).toEqual([2, 3, 4]);
    expect(p.receive(m(3, 'room:a', 'e2')).deliver).toEqual([]);
    expect(p.isResyncing('room:a')).toBe(false);
    expect(p.get('room:a')).toEqual({ epoch: 'e2', offset: 4 });
  });

  it('when the new epoch no longer holds its start, skips to the first message it has', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 9 } });
    p.receive(m(5, 'room:a', 'e2'));
    // the server replays what it still holds (4), then ERR_HISTORY_GAP
    expect(p.receive(m(4, 'room:a', 'e2')).deliver).toEqual([]);
    const skipped = p.skipGap('room:a');
    expect(skipped.from).toBe(1);
    expect(skipped.deliver.map((x) => x.offset)).toEqual([4, 5]);
    expect(p.get('room:a')).toEqual({ epoch: 'e2', offset: 5 });
  });

  // Whatever order and duplication the network produces, with RESYNC answered by a replay from
  // the hole, the application sees 1..n exactly once and in order.
  it('exactly once and in order for any arrival order with duplicates (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i + 1), { minLength: 0, maxLength: n }), fc.array(fc.integer({ min: 1, max: n }), { maxLength: 20 }), fc.integer({ min: 1, max: 8 })),
        ),
        ([n, arrival, duplicates, maxBuffered]) => {
          const p = new StreamPositions(maxBuffered, { 'room:a': { epoch: 'e1', offset: 0 } });
          const delivered: number[] = [];
          const queue = [...arrival, ...duplicates].map((o) => m(o));
          let guard = 0;
          while (queue.length > 0 && guard++ < 10_000) {
            const r = p.receive(queue.shift()!);
            delivered.push(...r.deliver.map((x) => x.offset));
            // The server answers a RESYNC by replaying from `from` to the end, in order.
            if (r.resync) for (let o = r.resync.from; o <= n; o++) queue.push(m(o));
          }
          // Whatever never arrived is replayed on the next reconnect, from the position on.
          const position = p.get('room:a')!.offset;
          p.clearPending();
          for (let o = position + 1; o <= n; o++) delivered.push(...p.receive(m(o)).deliver.map((x) => x.offset));
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
      { numRuns: 300 },
    );
  });
  it('advance() takes only the next in-order message of a stream with nothing buffered', () => {
    const p = new StreamPositions(1000, { 'room:a': { epoch: 'e1', offset: 1 } });
    const held = p.get('room:a')!;
    expect(p.advance(m(2))).toBe(true);
    expect(held).toEqual({ epoch: 'e1', offset: 1 }); // get() hands out a copy
    expect(p.advance(m(2))).toBe(false); // duplicate
    expect(p.advance(m(4))).toBe(false); // hole
    expect(p.receive(m(4)).resync).toBeDefined();
    expect(p.advance(m(3))).toBe(false); // 4 is buffered: receive drains it
    expect(p.receive(m(3)).deliver.map((x) => x.offset)).toEqual([3, 4]);
    expect(p.advance(m(5, 'room:a', 'e2'))).toBe(false); // new epoch
    expect(p.advance(m(1, 'room:b'))).toBe(false); // unknown stream
    p.reset('room:a');
    expect(p.advance(m(5))).toBe(false); // after a reset receive accepts any offset
    expect(p.get('room:a')).toEqual({ epoch: 'e1', offset: 4 });
  });

  it('advance() then receive(), as the session calls them: exactly once and in order (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i + 1), { minLength: 0, maxLength: n }), fc.array(fc.integer({ min: 1, max: n }), { maxLength: 20 }))),
        ([n, arrival, duplicates]) => {
          const p = new StreamPositions(4, { 'room:a': { epoch: 'e1', offset: 0 } });
          const delivered: number[] = [];
          const queue = [...arrival, ...duplicates].map((o) => m(o));
          let guard = 0;
          const take = (x: NewMessageFrame): void => {
            if (p.advance(x)) return void delivered.push(x.offset);
            const r = p.receive(x);
            delivered.push(...r.deliver.map((y) => y.offset));
            if (r.resync) for (let o = r.resync.from; o <= n; o++) queue.push(m(o));
          };
          while (queue.length > 0 && guard++ < 10_000) take(queue.shift()!);
          const position = p.get('room:a')!.offset;
          p.clearPending();
          for (let o = position + 1; o <= n; o++) take(m(o));
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
      { numRuns: 300 },
    );
  });
});
