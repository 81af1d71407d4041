/** Conformance: fast-check properties of append/read/retention and dedup against a simple model. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { World } from './conformance-context.js';
import { KEEP_ALL, entry, session } from './conformance-context.js';

type Command =
  | { kind: 'append'; maxCount: number; maxAgeMs: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'read'; after: number; limit: number }
  | { kind: 'info' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), maxCount: fc.integer({ min: 0, max: 6 }), maxAgeMs: fc.integer({ min: 0, max: 60 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 30 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('read' as const), after: fc.integer({ min: 0, max: 25 }), limit: fc.integer({ min: 0, max: 8 }) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'info' as const }), weight: 1 },
);

/** The reference model: what any store must return, written as plainly as possible. */
class StreamModel {
  lastOffset = 0;
  entries: Array<{ offset: number; id: string; ts: number }> = [];
  maxAgeMs = Number.POSITIVE_INFINITY;

  append(id: string, now: number, maxCount: number, maxAgeMs: number): number {
    this.lastOffset += 1;
    this.entries.push({ offset: this.lastOffset, id, ts: now });
    this.maxAgeMs = maxAgeMs;
    while (this.entries.length > maxCount) this.entries.shift();
    this.trim(now);
    return this.lastOffset;
  }

  trim(now: number): void {
    this.entries = this.entries.filter((e) => e.ts >= now - this.maxAgeMs);
  }

  info(now: number): { firstOffset: number; lastOffset: number } {
    this.trim(now);
    return { firstOffset: this.entries[0]?.offset ?? this.lastOffset + 1, lastOffset: this.lastOffset };
  }
}

/** Property tests, run inside the adapter's describe block. */
export function propertyTests(world: () => World, runs: number): void {
  describe('properties', () => {
    it('append, read and retention agree with the model', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
          const { a, b, clock } = world();
          const stream = `room:prop-${++run}`;
          const model = new StreamModel();
          const { epoch } = await a.info(stream);
          let n = 0;
          for (const [i, c] of commands.entries()) {
            const store = i % 2 === 0 ? a : b;
            if (c.kind === 'append') {
              const id = `m${++n}`;
              const result = await store.append(stream, entry(id), { maxCount: c.maxCount, maxAgeMs: c.maxAgeMs });
              const offset = model.append(id, clock.now(), c.maxCount, c.maxAgeMs);
              expect(result).toMatchObject({ status: 'appended', entry: { offset, epoch, id, ts: clock.now() } });
            } else if (c.kind === 'tick') {
              clock.advance(c.ms);
            } else if (c.kind === 'read') {
              const got = await store.read(stream, c.after, c.limit);
              const info = model.info(clock.now());
              expect(got.info).toEqual({ epoch, ...info });
              const expected = model.entries.filter((e) => e.offset > c.after).slice(0, c.limit);
              expect(got.entries.map((e) => [e.offset, e.id, e.ts])).toEqual(expected.map((e) => [e.offset, e.id, e.ts]));
            } else {
              expect(await store.info(stream)).toEqual({ epoch, ...model.info(clock.now()) });
            }
          }
        }),
        { numRuns: runs },
      );
    });

    it('dedup statuses and appended entries agree with the model', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 20 }), async (seqs) => {
          const { a, b } = world();
          const sessionId = `dedup-${++run}`;
          const stream = `session:${sessionId}`;
          await a.createSession(session(sessionId));
          let lastSeq = 0;
          const appended: string[] = [];
          for (const [i, seq] of seqs.entries()) {
            const id = `q${i}`;
            const result = await (i % 2 === 0 ? a : b).append(stream, entry(id, seq, sessionId), KEEP_ALL, { sessionId, seq });
            if (seq <= lastSeq) expect(result).toEqual({ status: 'duplicate', lastSeq });
            else if (seq > lastSeq + 1) expect(result).toEqual({ status: 'out_of_order', lastSeq });
            else {
              expect(result).toMatchObject({ status: 'appended', entry: { offset: appended.length + 1 } });
              lastSeq = seq;
              appended.push(id);
            }
          }
          expect((await b.read(stream, 0, 100)).entries.map((e) => e.id)).toEqual(appended);
          expect((await a.getSession(sessionId))!.lastSeq).toBe(lastSeq);
        }),
        { numRuns: runs },
      );
    });

    it('racing sequenced appends from two instances keep every session exactly once and in order', async () => {
      let run = 0;
      const attempt = fc.record({ session: fc.integer({ min: 0, max: 2 }), seq: fc.integer({ min: 1, max: 5 }), onB: fc.boolean() });
      await fc.assert(
        fc.asyncProperty(fc.array(attempt, { minLength: 1, maxLength: 30 }), async (attempts) => {
          const { a, b } = world();
          const tag = `race-${++run}`;
          const stream = `room:${tag}`;
          const ids = [0, 1, 2].map((i) => `${tag}-s${i}`);
          await Promise.all(ids.map((id) => a.createSession(session(id))));
          // All at once: the store alone decides the interleaving.
          const results = await Promise.all(attempts.map((t, i) => (t.onB ? b : a).append(stream, entry(`${ids[t.session]}#${t.seq}#${i}`, t.seq, ids[t.session]!), KEEP_ALL, { sessionId: ids[t.session]!, seq: t.seq })));
          for (const [i, result] of results.entries()) {
            const seq = attempts[i]!.seq;
            if (result.status === 'duplicate') expect(result.lastSeq).toBeGreaterThanOrEqual(seq);
            else if (result.status === 'out_of_order') expect(result.lastSeq).toBeLessThan(seq - 1);
            else expect(result.status).toBe('appended');
          }
          const { entries } = await b.read(stream, 0, 1000);
          expect(entries.map((e) => e.offset)).toEqual(entries.map((_, i) => i + 1));
          expect(entries).toHaveLength(results.filter((r) => r.status === 'appended').length);
          for (const id of ids) {
            const seqs = entries.filter((e) => e.from === id).map((e) => e.data);
            const lastSeq = (await a.getSession(id))!.lastSeq;
            expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
          }
        }),
        { numRuns: runs },
      );
    });
  });
}
