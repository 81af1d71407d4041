/** Conformance: state events, snapshots, version subscriptions, control messages, health. */
import { describe, expect, it } from 'vitest';
import type { Blob, ControlMessage } from '../../src/server/stores/store.js';
import type { World } from './conformance-context.js';
import { session, until } from './conformance-context.js';

const ev = (n: number): Blob => ({ encoding: 'json', data: JSON.stringify({ op: 'inc', n }) });

/** State and instance tests, run inside the adapter's describe block. */
export function stateTests(world: () => World): void {
  describe('state', () => {
    it('appends versions 1, 2, 3 and refuses a stale expected version', async () => {
      const { a, b } = world();
      expect(await a.stateVersion('room:s')).toBe(0);
      expect(await a.appendStateEvent('room:s', 0, ev(1))).toEqual({ status: 'appended', version: 1 });
      expect(await b.appendStateEvent('room:s', 1, ev(2))).toEqual({ status: 'appended', version: 2 });
      expect(await a.appendStateEvent('room:s', 1, ev(99))).toEqual({ status: 'conflict', version: 2 });
      expect(await b.appendStateEvent('room:s', 2, { encoding: 'deflate', data: 'eJyrVgpLzClVslIqSk1U' })).toEqual({ status: 'appended', version: 3 });
      expect(await b.stateVersion('room:s')).toBe(3);
      expect(await a.readStateEvents('room:s', 0)).toEqual([
        { version: 1, event: ev(1) },
        { version: 2, event: ev(2) },
        { version: 3, event: { encoding: 'deflate', data: 'eJyrVgpLzClVslIqSk1U' } },
      ]);
      expect((await b.readStateEvents('room:s', 2)).map((e) => e.version)).toEqual([3]);
      expect(await b.readStateEvents('room:s', 3)).toEqual([]);
      expect(await b.readStateEvents('room:none', 0)).toEqual([]);
    });

    it('lets exactly one of racing writers take a version', async () => {
      const { a, b } = world();
      const results = await Promise.all([a, b, a, b].map((store, i) => store.appendStateEvent('room:s', 0, ev(i))));
      expect(results.filter((r) => r.status === 'appended')).toEqual([{ status: 'appended', version: 1 }]);
      expect(results.filter((r) => r.status === 'conflict')).toHaveLength(3);
    });

    it('dedups state events atomically, and a conflict does not consume the seq', async () => {
      const { a, b } = world();
      await a.createSession(session('s1'));
      expect(await a.appendStateEvent('session:s1', 0, ev(1), { sessionId: 's1', seq: 1 })).toEqual({ status: 'appended', version: 1 });
      expect(await b.appendStateEvent('session:s1', 1, ev(1), { sessionId: 's1', seq: 1 })).toEqual({ status: 'duplicate', lastSeq: 1 });
      expect(await b.appendStateEvent('session:s1', 1, ev(3), { sessionId: 's1', seq: 3 })).toEqual({ status: 'out_of_order', lastSeq: 1 });
      expect(await b.appendStateEvent('session:s1', 0, ev(2), { sessionId: 's1', seq: 2 })).toEqual({ status: 'conflict', version: 1 });
      expect((await a.getSession('s1'))!.lastSeq).toBe(1);
      expect(await b.appendStateEvent('session:s1', 1, ev(2), { sessionId: 's1', seq: 2 })).toEqual({ status: 'appended', version: 2 });
      expect((await a.getSession('s1'))!.lastSeq).toBe(2);
      expect(await b.appendStateEvent('session:zz', 0, ev(1), { sessionId: 'zz', seq: 1 })).toEqual({ status: 'no_session' });
      expect(await a.stateVersion('session:zz')).toBe(0);
    });

    it('stores snapshots, drops the events they cover, keeps the version and ignores older snapshots', async () => {
      const { a, b } = world();
      for (let v = 0; v < 5; v++) await a.appendStateEvent('room:s', v, ev(v + 1));
      expect(await a.getSnapshot('room:s')).toBeNull();
      const snap = { version: 3, value: { encoding: 'json' as const, data: '{"count":3}' }, ts: 1234 };
      await b.putSnapshot('room:s', snap);
      expect(await a.getSnapshot('room:s')).toEqual(snap);
      expect((await a.readStateEvents('room:s', 0)).map((e) => e.version)).toEqual([4, 5]);
      expect(await a.stateVersion('room:s')).toBe(5);
      await a.putSnapshot('room:s', { version: 2, value: { encoding: 'json', data: '{"count":2}' }, ts: 9999 });
      expect(await b.getSnapshot('room:s')).toEqual(snap);
      expect(await a.appendStateEvent('room:s', 5, ev(6))).toEqual({ status: 'appended', version: 6 });
      await a.putSnapshot('room:s', { version: 6, value: { encoding: 'deflate', data: 'AAAA' }, ts: 5 });
      expect(await b.readStateEvents('room:s', 0)).toEqual([]);
      expect(await b.stateVersion('room:s')).toBe(6);
      expect(await b.appendStateEvent('room:s', 6, ev(7))).toEqual({ status: 'appended', version: 7 });
    });

    it('deletes a scope entirely', async () => {
      const { a, b } = world();
      await a.appendStateEvent('room:s', 0, ev(1));
      await a.putSnapshot('room:s', { version: 1, value: { encoding: 'json', data: '1' }, ts: 1 });
      await a.appendStateEvent('room:s', 1, ev(2));
      await b.deleteState('room:s');
      expect(await a.stateVersion('room:s')).toBe(0);
      expect(await a.getSnapshot('room:s')).toBeNull();
      expect(await a.readStateEvents('room:s', 0)).toEqual([]);
      expect(await a.appendStateEvent('room:s', 0, ev(1))).toEqual({ status: 'appended', version: 1 });
    });

    it('notifies version listeners on every instance, in version order, until unsubscribed', async () => {
      const { a, b } = world();
      const onA: string[] = [];
      const onB: string[] = [];
      const listenerB = (scope: string, version: number): void => { onB.push(`${scope}@${version}`); };
      await a.subscribeState('room:s', (scope, version) => onA.push(`${scope}@${version}`));
      await b.subscribeState('room:s', listenerB);
      for (let v = 0; v < 5; v++) await (v % 2 === 0 ? a : b).appendStateEvent('room:s', v, ev(v));
      await a.appendStateEvent('room:other', 0, ev(0));
      const expected = [1, 2, 3, 4, 5].map((v) => `room:s@${v}`);
      await until(() => onA.length === 5 && onB.length === 5, 'five versions on both instances');
      expect(onA).toEqual(expected);
      expect(onB).toEqual(expected);
      await b.unsubscribeState('room:s', listenerB);
      await a.appendStateEvent('room:s', 5, ev(5));
      await until(() => onA.length === 6, 'sixth version on a');
      expect(onB).toHaveLength(5);
    });
  });

  describe('instances', () => {
    it('delivers control messages to every instance, this one included', async () => {
      const { a, b } = world();
      const onA: ControlMessage[] = [];
      const onB: ControlMessage[] = [];
      a.onControl((m) => onA.push(m));
      if (b !== a) b.onControl((m) => onB.push(m));
      const messages: ControlMessage[] = [
        { kind: 'takeover', sessionId: 's1', owner: 'i2/c3' },
        { kind: 'disconnect', sessionId: 's2', code: 4008 },
        { kind: 'end', sessionId: 's3' },
      ];
      await b.publishControl(messages[0]!);
      await a.publishControl(messages[1]!);
      await b.publishControl(messages[2]!);
      await until(() => onA.length === 3 && (b === a || onB.length === 3), 'control messages');
      expect(onA).toEqual(messages);
      if (b !== a) expect(onB).toEqual(messages);
    });

    it('refuses calls after close with ERR_STORE_UNAVAILABLE, and closing twice is harmless', async () => {
      const { a } = world();
      await a.close();
      await a.close();
      await expect(a.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(a.getSession('s1')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(a.append('room:r', { id: 'm', from: null, user: null, data: null }, { maxCount: 1, maxAgeMs: 1 })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    });

    it('answers ping and names its kind', async () => {
      const { a } = world();
      await a.ping();
      expect(typeof a.kind).toBe('string');
      expect(a.kind.length).toBeGreaterThan(0);
    });
  });
}
