/** Conformance: sessions, expiry and sequenced writes without an entry (`advanceSeq`). */
import { describe, expect, it } from 'vitest';
import type { World } from './conformance-context.js';
import { session } from './conformance-context.js';

/** Session tests, run inside the adapter's describe block. */
export function sessionTests(world: () => World): void {
  describe('sessions', () => {
    it('stores a session and returns an equal copy that does not alias the store', async () => {
      const { a, b } = world();
      const record = session('s1', { user: 'alice', rooms: { lobby: { epoch: 'e', offset: 3 } }, positions: { 'room:lobby': { epoch: 'e', offset: 2 } }, lastSeq: 4 });
      await a.createSession(record);
      const got = await b.getSession('s1');
      expect(got).toEqual(record);
      got!.rooms['other'] = { epoch: 'x', offset: 1 };
      expect(await a.getSession('s1')).toEqual(record);
      expect(await a.getSession('nope')).toBeNull();
    });

    it('keeps null fields and an expiry given at creation', async () => {
      const { a, clock } = world();
      const record = session('s1', { owner: null, expiresAt: clock.now() + 1000 });
      await a.createSession(record);
      expect(await a.getSession('s1')).toEqual(record);
    });

    it('updates only the given fields and reports unknown sessions', async () => {
      const { a, b } = world();
      await a.createSession(session('s1'));
      expect(await b.updateSession('s1', { tokenHash: 'b'.repeat(64), positions: { 'room:x': { epoch: 'e', offset: 9 } } })).toBe(true);
      expect(await a.getSession('s1')).toEqual(session('s1', { tokenHash: 'b'.repeat(64), positions: { 'room:x': { epoch: 'e', offset: 9 } } }));
      expect(await a.updateSession('s1', { user: 'bob', rooms: { r: { epoch: 'e', offset: 0 } } })).toBe(true);
      expect(await b.getSession('s1')).toMatchObject({ user: 'bob', rooms: { r: { epoch: 'e', offset: 0 } }, tokenHash: 'b'.repeat(64) });
      expect(await a.updateSession('nope', { user: 'x' })).toBe(false);
      expect(await a.getSession('nope')).toBeNull();
    });

    it('attach returns the previous owner, null when detached, undefined when unknown', async () => {
      const { a, b } = world();
      await a.createSession(session('s1', { owner: 'i1/c1' }));
      expect(await b.attachSession('s1', 'i2/c7')).toBe('i1/c1');
      expect(await a.getSession('s1')).toMatchObject({ owner: 'i2/c7', expiresAt: null });
      expect(await a.detachSession('s1', 'i2/c7', 60_000)).toBe(true);
      expect(await b.attachSession('s1', 'i1/c2')).toBeNull();
      expect(await a.getSession('s1')).toMatchObject({ owner: 'i1/c2', expiresAt: null });
      expect(await a.attachSession('nope', 'i1/c3')).toBeUndefined();
    });

    it('resumeSession applies the update and attaches at once, returning the previous owner and the session', async () => {
      const { a, b, clock } = world();
      if (!a.resumeSession || !b.resumeSession) return;
      await a.createSession(session('s1', { owner: 'i1/c1', positions: { 'room:r': { epoch: 'e', offset: 2 } } }));
      await a.detachSession('s1', 'i1/c1', 1000);
      const first = await b.resumeSession('s1', { tokenHash: 'b'.repeat(64), prevTokenHash: 'a'.repeat(64), user: 'ann' }, 'i2/c2');
      const expected = session('s1', { tokenHash: 'b'.repeat(64), prevTokenHash: 'a'.repeat(64), user: 'ann', owner: 'i2/c2', expiresAt: null, positions: { 'room:r': { epoch: 'e', offset: 2 } } });
      expect(first).toEqual({ previous: null, record: expected });
      expect(await a.getSession('s1')).toEqual(expected);
      // Attached elsewhere: the holder is handed back for the takeover, and nothing expires.
      const second = await a.resumeSession('s1', {}, 'i1/c3');
      expect(second).toEqual({ previous: 'i2/c2', record: { ...expected, owner: 'i1/c3' } });
      clock.advance(5000);
      expect(await a.takeExpiredSessions(clock.now(), 10)).toEqual([]);
      expect(await b.resumeSession('nope', {}, 'i1/c4')).toBeUndefined();
      await a.detachSession('s1', 'i1/c3', 10);
      clock.advance(10);
      expect(await b.resumeSession('s1', { user: 'x' }, 'i1/c5')).toBeUndefined();
    });

    it('detaches only for the current owner and sets the expiry from the store clock', async () => {
      const { a, b, clock } = world();
      await a.createSession(session('s1', { owner: 'i1/c1' }));
      expect(await b.detachSession('s1', 'i9/c9', 1000)).toBe(false);
      expect(await a.getSession('s1')).toMatchObject({ owner: 'i1/c1', expiresAt: null });
      expect(await b.detachSession('s1', 'i1/c1', 1000)).toBe(true);
      expect(await a.getSession('s1')).toMatchObject({ owner: null, expiresAt: clock.now() + 1000 });
      // Already detached: nobody owns it any more.
      expect(await a.detachSession('s1', 'i1/c1', 1000)).toBe(false);
      expect(await a.detachSession('nope', 'i1/c1', 1000)).toBe(false);
    });

    it('treats a session past its expiry as gone until it is taken', async () => {
      const { a, b, clock } = world();
      await a.createSession(session('s1', { owner: 'o' }));
      await a.detachSession('s1', 'o', 1000);
      clock.advance(999);
      expect(await b.getSession('s1')).not.toBeNull();
      clock.advance(1);
      expect(await b.getSession('s1')).toBeNull();
      expect(await b.attachSession('s1', 'o2')).toBeUndefined();
      expect(await b.updateSession('s1', { user: 'x' })).toBe(false);
      expect(await b.advanceSeq('s1', 1)).toEqual({ status: 'no_session' });
      expect(await a.takeExpiredSessions(clock.now(), 10)).toEqual(['s1']);
    });

    it('takes expired sessions once, up to the limit, and never attached or unexpired ones', async () => {
      const { a, b, clock } = world();
      for (const id of ['e1', 'e2', 'e3', 'late', 'held']) await a.createSession(session(id, { owner: 'o' }));
      for (const id of ['e1', 'e2', 'e3']) await a.detachSession(id, 'o', 100);
      await a.detachSession('late', 'o', 10_000);
      clock.advance(100);
      const first = await b.takeExpiredSessions(clock.now(), 2);
      expect(first).toHaveLength(2);
      const second = await a.takeExpiredSessions(clock.now(), 10);
      expect([...first, ...second].sort()).toEqual(['e1', 'e2', 'e3']);
      expect(await b.takeExpiredSessions(clock.now(), 10)).toEqual([]);
      for (const id of ['e1', 'e2', 'e3']) expect(await a.getSession(id)).toBeNull();
      // Taking removed them: a later attach finds nothing.
      expect(await a.attachSession('e1', 'o')).toBeUndefined();
      expect(await a.getSession('late')).not.toBeNull();
      expect(await a.getSession('held')).not.toBeNull();
      // `now` is the caller's: a later now takes the later one.
      expect(await a.takeExpiredSessions(clock.now() + 10_000, 10)).toEqual(['late']);
    });

    it('re-attaching before expiry cancels it', async () => {
      const { a, b, clock } = world();
      await a.createSession(session('s1', { owner: 'o' }));
      await a.detachSession('s1', 'o', 100);
      expect(await b.attachSession('s1', 'o2')).toBeNull();
      clock.advance(1000);
      expect(await a.takeExpiredSessions(clock.now(), 10)).toEqual([]);
      expect(await a.getSession('s1')).toMatchObject({ owner: 'o2', expiresAt: null });
    });

    it('hands each expired session to exactly one caller when two instances race', async () => {
      const { a, b, clock } = world();
      const ids = Array.from({ length: 40 }, (_, i) => `x${i}`);
      await Promise.all(ids.map((id) => a.createSession(session(id, { owner: 'o' }))));
      await Promise.all(ids.map((id) => b.detachSession(id, 'o', 10)));
      clock.advance(10);
      const taken: string[] = [];
      const drain = async (store: typeof a): Promise<void> => {
        for (let round = 0; round < 50; round++) {
          const batch = await store.takeExpiredSessions(clock.now(), 3);
          if (batch.length === 0) return;
          taken.push(...batch);
        }
      };
      await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
      expect(taken.slice().sort()).toEqual(ids.slice().sort());
    });

    it('deletes a session at once', async () => {
      const { a, b, clock } = world();
      await a.createSession(session('s1', { owner: 'o' }));
      await a.detachSession('s1', 'o', 10);
      await b.deleteSession('s1');
      expect(await a.getSession('s1')).toBeNull();
      clock.advance(10);
      expect(await a.takeExpiredSessions(clock.now(), 10)).toEqual([]);
      await b.deleteSession('never-existed');
    });

    it('advances lastSeq one step at a time, with the update applied atomically', async () => {
      const { a, b } = world();
      await a.createSession(session('s1', { lastSeq: 2 }));
      expect(await b.advanceSeq('s1', 3, { rooms: { r: { epoch: 'e', offset: 5 } } })).toEqual({ status: 'ok' });
      expect(await a.getSession('s1')).toMatchObject({ lastSeq: 3, rooms: { r: { epoch: 'e', offset: 5 } } });
      expect(await a.advanceSeq('s1', 3, { rooms: {} })).toEqual({ status: 'duplicate', lastSeq: 3 });
      expect(await a.advanceSeq('s1', 1)).toEqual({ status: 'duplicate', lastSeq: 3 });
      expect(await b.advanceSeq('s1', 5, { rooms: {} })).toEqual({ status: 'out_of_order', lastSeq: 3 });
      // Refusals change nothing.
      expect(await a.getSession('s1')).toMatchObject({ lastSeq: 3, rooms: { r: { epoch: 'e', offset: 5 } } });
      expect(await a.advanceSeq('s1', 4)).toEqual({ status: 'ok' });
      expect(await a.advanceSeq('nope', 1)).toEqual({ status: 'no_session' });
    });

    it('lets exactly one of two racing instances advance the same seq', async () => {
      const { a, b } = world();
      await a.createSession(session('s1'));
      const results = await Promise.all([a.advanceSeq('s1', 1), b.advanceSeq('s1', 1), a.advanceSeq('s1', 1), b.advanceSeq('s1', 1)]);
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(3);
      expect((await a.getSession('s1'))!.lastSeq).toBe(1);
    });
  });
}
