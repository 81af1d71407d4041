/**
 * A hostile or broken server sending `NEW_MESSAGE.ack` and `ACK` in any order, naming any seq and
 * any message: the client never settles an operation that was not acknowledged, settles every
 * one that was (cumulatively, like `ACK`), reports each mismatched fold as `ERR_PROTOCOL`, and
 * keeps delivering messages.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ResilientSocketError } from '../../src/protocol/index.js';
import { FakeClock, fakeWebSocket, newSession, settle } from './fakes.js';

const open: ReconnectingWebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) if (ws.status !== 'closed') ws.close();
});

type Step = { kind: 'ack'; seq: number } | { kind: 'fold'; ack: number; id: string; room: string; offset: number } | { kind: 'plain'; id: string; offset: number };

const SENT = 6;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('ack' as const), seq: fc.integer({ min: 1, max: SENT + 2 }) }),
  fc.record({
    kind: fc.constant('fold' as const),
    ack: fc.integer({ min: 1, max: SENT + 2 }),
    id: fc.constantFrom(...Array.from({ length: SENT + 1 }, (_, i) => `m${i}`), 'other'),
    room: fc.constantFrom('r', 's'),
    offset: fc.integer({ min: 1, max: 20 }),
  }),
  fc.record({ kind: fc.constant('plain' as const), id: fc.constantFrom('m0', 'x'), offset: fc.integer({ min: 1, max: 20 }) }),
);

describe('folded acks from a hostile server', () => {
  it('settle exactly what a valid ack covers, and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
        const clock = new FakeClock();
        const fake = fakeWebSocket();
        const ws = new ReconnectingWebSocket('ws://example.test/socket', { WebSocket: fake.WebSocket, timers: clock, now: () => clock.now, jitter: 'none', environment: {} });
        open.push(ws);
        const errors: ResilientSocketError[] = [];
        ws.on('error', (e) => errors.push(e));
        await settle();
        const socket = fake.last();
        socket.open();
        await settle();
        socket.receive(newSession('s1', { rooms: { r: { stream: 'room:r', epoch: 'e1', offset: 0 }, s: { stream: 'room:s', epoch: 'e1', offset: 0 } } }));
        await settle();
        // seq i+1 is message m<i> to room r
        const settled: number[] = [];
        for (let i = 0; i < SENT; i++) void ws.send(i, { room: 'r', id: `m${i}` }).then(() => settled.push(i + 1), () => settled.push(-(i + 1)));
        await settle();
        expect(socket.framesOf('MESSAGE')).toHaveLength(SENT);
        // the model: highest seq acknowledged, and the folds that name the wrong operation
        let acked = 0;
        let mismatched = 0;
        for (const s of steps) {
          if (s.kind === 'ack') {
            socket.receive({ type: 'ACK', seq: s.seq });
            if (s.seq <= SENT) acked = Math.max(acked, s.seq);
          } else if (s.kind === 'fold') {
            socket.receive({ type: 'NEW_MESSAGE', stream: `room:${s.room}`, epoch: 'e1', offset: s.offset, room: s.room, from: 's1', id: s.id, data: 0, ts: 1, ack: s.ack });
            if (s.ack <= SENT && s.ack > acked) {
              if (s.id === `m${s.ack - 1}` && s.room === 'r') acked = s.ack;
              else mismatched++;
            }
          } else {
            socket.receive({ type: 'NEW_MESSAGE', stream: 'room:r', epoch: 'e1', offset: s.offset, room: 'r', from: 's2', id: s.id, data: 0, ts: 1 });
          }
        }
        await settle();
        expect(settled.sort((a, b) => a - b)).toEqual(Array.from({ length: acked }, (_, i) => i + 1));
        expect(ws.stats.queueLength).toBe(SENT - acked);
        expect(errors.filter((e) => e.code === 'ERR_PROTOCOL')).toHaveLength(mismatched);
        expect(errors.filter((e) => e.code !== 'ERR_PROTOCOL')).toEqual([]);
        ws.close();
        await settle();
      }),
      { numRuns: 150 },
    );
  });
});
