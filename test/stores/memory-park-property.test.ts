/**
 * The memory store parks a detached session as one compact string (src/server/stores/
 * memory-session.ts): property tests that every record — any ids, users, token hashes, rooms,
 * positions, epochs, numbers up to and past 2^53, relative and absolute expiries — comes back
 * equal, through attach/detach cycles, counts and the expiry sweep's boundary.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '../../src/server/stores/memory.js';
import type { SessionRecord } from '../../src/server/stores/store.js';
import { newSessionId } from '../../src/server/sessions.js';

const anyString = fc.string({ unit: 'binary', maxLength: 40 });
const wellFormed = fc.string({ unit: 'grapheme', maxLength: 40 });
const hexDigest = fc.stringMatching(/^[0-9a-f]{64}$/);
const epoch = fc.oneof(
  fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('base64url')),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,14}$/),
  wellFormed,
);
const offset = fc.oneof(fc.nat(), fc.integer({ min: 2 ** 31 - 2, max: 2 ** 31 + 2 }), fc.constantFrom(2 ** 52, 2 ** 52 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 60, -1, 1.5, Number.MAX_SAFE_INTEGER));
const position = fc.record({ epoch, offset });
const id = fc.oneof(fc.constant(null).map(() => newSessionId()), fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), wellFormed.filter((s) => s.length > 0));

function rec(wf: fc.Arbitrary<string>) {
  return fc.record({
    id,
    tokenHash: fc.oneof(hexDigest, wf, fc.constant('')),
    prevTokenHash: fc.option(fc.oneof(hexDigest, wf, fc.constant('')), { nil: undefined }),
    user: fc.option(wf, { nil: null }),
    roomNames: fc.uniqueArray(fc.oneof(wf, fc.stringMatching(/^[A-Za-z0-9_.:@/-]{1,20}$/)), { maxLength: 6 }),
    roomPos: fc.array(position, { minLength: 6, maxLength: 6 }),
    extra: fc.dictionary(wf, position, { maxKeys: 5 }),
    lastSeq: offset,
    createdAt: fc.oneof(fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), fc.constantFrom(0, 1.5, 2 ** 53)),
    ttl: fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom(1, 2 ** 40)),
    clock: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  });
}

function build(r: any): { record: SessionRecord; expiresAt: number } {
  const rooms: Record<string, { epoch: string; offset: number }> = {};
  r.roomNames.forEach((n: string, i: number) => { Object.defineProperty(rooms, n, { value: r.roomPos[i], enumerable: true, writable: true, configurable: true }); });
  const positions: Record<string, { epoch: string; offset: number }> = {};
  const own = `session:${r.id}`;
  positions[own] = r.roomPos[0];
  for (const n of r.roomNames) Object.defineProperty(positions, `room:${n}`, { value: rooms[n], enumerable: true, writable: true, configurable: true });
  for (const [k, v] of Object.entries(r.extra)) Object.defineProperty(positions, k, { value: v, enumerable: true, writable: true, configurable: true });
  const expiresAt = r.clock + r.ttl;
  const record: SessionRecord = { id: r.id, tokenHash: r.tokenHash, user: r.user, rooms, positions, lastSeq: r.lastSeq, createdAt: r.createdAt, owner: null, expiresAt };
  if (r.prevTokenHash !== undefined) record.prevTokenHash = r.prevTokenHash;
  return { record, expiresAt };
}

describe('memory store: a parked session comes back exactly as it went in', () => {
  it('well-formed strings: create detached -> getSession equal; attach/detach cycle keeps expiry; count', async () => {
    await fc.assert(fc.asyncProperty(rec(wellFormed), async (r) => {
      let time = r.clock;
      const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
      try {
        const { record } = build(r);
        await store.createSession(record);
        expect(await store.getSession(record.id)).toEqual(record);
        if (record.user !== null) expect(await store.countUserSessions(record.user)).toBe(1);
        // attach, detach at a later time with a ttl
        time += 0;
        expect(await store.attachSession(record.id, 'i/1')).toBe(null);
        time += 1000;
        expect(await store.detachSession(record.id, 'i/1', r.ttl + 1)).toBe(true);
        const exp = time + r.ttl + 1;
        expect(await store.getSession(record.id)).toEqual({ ...record, expiresAt: exp });
        expect(await store.wasExpired(record.id)).toBe(false);
        // update while parked
        expect(await store.advanceSeq(record.id, r.lastSeq + 1, { positions: {} })).toEqual(Number.isSafeInteger(r.lastSeq + 1) || r.lastSeq + 1 > r.lastSeq ? { status: 'ok' } : expect.anything());
        time = exp - 1;
        expect(await store.takeExpiredSessions(time, 10)).toEqual([]);
        if (record.user !== null) expect(await store.countUserSessions(record.user)).toBe(1);
        time = exp;
        expect(await store.wasExpired(record.id)).toBe(true);
        expect(await store.takeExpiredSessions(time, 10)).toEqual([record.id]);
      } finally { await store.close(); }
    }), { numRuns: 400 });
  });

  it('any strings (lone surrogates) in user / epochs / stream names', async () => {
    await fc.assert(fc.asyncProperty(rec(anyString), async (r) => {
      const store = new MemoryStore({ sweepIntervalMs: 0, now: () => r.clock });
      try {
        const { record } = build(r);
        await store.createSession(record);
        expect(await store.getSession(record.id)).toEqual(record);
      } finally { await store.close(); }
    }), { numRuns: 300 });
  });
});

describe('memory store: strings UTF-8 cannot carry', () => {
  it('a user id with a lone surrogate survives parking', async () => {
    let time = 1_700_000_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
    const id = newSessionId();
    const base: SessionRecord = { id, tokenHash: 'a'.repeat(64), user: 'bob\ud800', rooms: {}, positions: { [`session:${id}`]: { epoch: 'x\udc00', offset: 0 } }, lastSeq: 0, createdAt: time, owner: 'i/1', expiresAt: null };
    await store.createSession(base);
    expect(await store.countUserSessions('bob\ud800')).toBe(1);
    expect(await store.countUserSessions('bob\udbff')).toBe(0);
    await store.detachSession(id, 'i/1', 60_000);
    const got = await store.getSession(id);
    expect(await store.countUserSessions('bob\udbff')).toBe(0); // a different user
    expect(await store.countUserSessions('bob\ud800')).toBe(1);
    expect(got!.user).toBe('bob\ud800');
    expect(got!.positions).toEqual(base.positions);
    await store.close();
  });
});
