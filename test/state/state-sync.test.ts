import { describe, expect, it } from 'vitest';
import { StateSync } from '../../src/client/state-sync.js';
import type { SavedState, StateAction } from '../../src/client/state-sync.js';
import type { Json, PatchOp, StateUpdateFrame } from '../../src/protocol/frames.js';

const S = 'room:r';
const full = (version: number, value: Json, reason: StateUpdateFrame['reason'] = 'live'): StateUpdateFrame => ({ type: 'STATE_UPDATE', scope: S, version, full: value, reason });
const patch = (base: number, version: number, ops: PatchOp[], reason: StateUpdateFrame['reason'] = 'live'): StateUpdateFrame => ({ type: 'STATE_UPDATE', scope: S, version, base, patch: ops, reason });
const set = (n: number): PatchOp[] => [{ op: 'replace', path: '/n', value: n }];

const sends = (actions: StateAction[]) => actions.flatMap((a) => (a.type === 'send' ? [a.frame] : []));
const changes = (actions: StateAction[]) => actions.flatMap((a) => (a.type === 'change' ? [a.change] : []));

describe('StateSync', () => {
  it('applies a full update then patches in version order, acking each', () => {
    const saved = new Map<string, SavedState>();
    const sync = new StateSync({ persist: (scope, s) => saved.set(scope, s) });
    const a = sync.receive(full(3, { n: 3 }));
    expect(a.outcome).toBe('applied');
    expect(changes(a.actions)).toEqual([{ scope: S, value: { n: 3 }, version: 3, source: 'live', confirmed: true }]);
    expect(sends(a.actions)).toEqual([{ type: 'STATE_ACK', scope: S, version: 3 }]);
    const b = sync.receive(patch(3, 4, set(4), 'recovery'));
    expect(changes(b.actions)).toMatchObject([{ version: 4, value: { n: 4 }, source: 'recovery' }]);
    expect(sync.get(S)).toEqual({ value: { n: 4 }, version: 4, confirmed: true });
    expect(saved.get(S)).toEqual({ value: { n: 4 }, version: 4 });
    expect(sync.versions()).toEqual({ [S]: 4 });
  });

  it('ignores stale and duplicate versions but acks what it holds', () => {
    const sync = new StateSync();
    sync.receive(full(5, { n: 5 }));
    for (const frame of [full(5, { n: 5 }), full(2, { n: 2 }), patch(4, 5, set(5)), patch(1, 2, set(2))]) {
      const r = sync.receive(frame);
      expect(r.outcome).toBe('stale');
      expect(r.actions).toEqual([{ type: 'send', frame: { type: 'STATE_ACK', scope: S, version: 5 } }]);
    }
    expect(sync.get(S)?.value).toEqual({ n: 5 });
  });

  it('asks for a resync on a gap instead of guessing, once, until a full update answers', () => {
    const sync = new StateSync();
    sync.receive(full(1, { n: 1 }));
    const gap = sync.receive(patch(2, 3, set(3)));
    expect(gap.outcome).toBe('gap');
    expect(gap.actions).toEqual([{ type: 'send', frame: { type: 'STATE_RESYNC', scope: S, version: 1 } }]);
    expect(sync.receive(patch(3, 4, set(4))).actions).toEqual([]);
    expect(sync.get(S)).toMatchObject({ version: 1, value: { n: 1 } });
    const healed = sync.receive(full(4, { n: 4 }, 'resync'));
    expect(changes(healed.actions)).toMatchObject([{ version: 4, source: 'resync' }]);
    // Resolved: the next gap asks again.
    expect(sends(sync.receive(patch(6, 7, set(7))).actions)).toEqual([{ type: 'STATE_RESYNC', scope: S, version: 4 }]);
    // A dropped connection voids the outstanding request.
    sync.connectionLost();
    expect(sends(sync.receive(patch(6, 7, set(7))).actions)).toEqual([{ type: 'STATE_RESYNC', scope: S, version: 4 }]);
  });

  it('needs a full update first: a patch onto nothing is a gap', () => {
    const sync = new StateSync();
    expect(sync.receive(patch(0, 1, set(1)))).toEqual({ outcome: 'gap', actions: [{ type: 'send', frame: { type: 'STATE_RESYNC', scope: S } }] });
    expect(sync.get(S)).toBeNull();
  });

  it('treats a patch that does not fit the value as a gap', () => {
    const sync = new StateSync();
    sync.receive(full(1, { n: 1 }));
    const r = sync.receive(patch(1, 2, [{ op: 'remove', path: '/missing' }]));
    expect(r.outcome).toBe('bad_patch');
    expect(sends(r.actions)).toEqual([{ type: 'STATE_RESYNC', scope: S, version: 1 }]);
    expect(sync.get(S)).toMatchObject({ version: 1, value: { n: 1 } });
  });

  it('shows a restored value at once, unconfirmed, until the server answers', () => {
    const sync = new StateSync();
    const restored = sync.restore({ [S]: { value: { n: 7 }, version: 7 }, broken: { version: 'x' } as unknown as SavedState });
    expect(changes(restored)).toEqual([{ scope: S, value: { n: 7 }, version: 7, source: 'restored', confirmed: false }]);
    expect(sync.versions()).toEqual({ [S]: 7 });
    // The server says nothing changed: an empty patch from 7 to 7 confirms.
    const confirm = sync.receive(patch(7, 7, [], 'recovery'));
    expect(confirm.outcome).toBe('confirmed');
    expect(changes(confirm.actions)).toEqual([{ scope: S, value: { n: 7 }, version: 7, source: 'recovery', confirmed: true }]);
    // Once confirmed, the same again is a duplicate.
    expect(sync.receive(patch(7, 7, [], 'recovery')).outcome).toBe('stale');
  });

  it('takes the server value over a restored one at the same version', () => {
    const sync = new StateSync();
    sync.restore({ [S]: { value: { n: 'tampered' }, version: 2 } });
    const r = sync.receive(full(2, { n: 2 }, 'recovery'));
    expect(r.outcome).toBe('confirmed');
    expect(sync.get(S)).toEqual({ value: { n: 2 }, version: 2, confirmed: true });
  });

  it('takes a lower version only as the first recovery answer on a new connection (server lost state)', () => {
    const sync = new StateSync();
    sync.receive(full(9, { n: 9 }));
    expect(sync.receive(full(3, { n: 3 }, 'recovery')).outcome).toBe('stale');
    sync.connectionLost();
    expect(sync.receive(full(3, { n: 3 }, 'live')).outcome).toBe('stale');
    sync.connectionLost();
    const r = sync.receive(full(3, { n: 3 }, 'recovery'));
    expect(r.outcome).toBe('rewound');
    expect(changes(r.actions)).toEqual([{ scope: S, value: { n: 3 }, version: 3, source: 'recovery', confirmed: true }]);
    expect(sync.receive(full(2, { n: 2 }, 'recovery')).outcome).toBe('stale');
  });

  it('after a new session keeps showing values but takes the next full update at any version', () => {
    const sync = new StateSync();
    sync.receive(full(9, { n: 9 }));
    sync.reset();
    expect(sync.get(S)).toBeNull();
    expect(sync.replica(S)?.value).toEqual({ n: 9 });
    expect(sync.versions()).toEqual({});
    expect(sync.receive(full(1, { n: 1 })).outcome).toBe('applied');
    expect(sync.get(S)).toEqual({ value: { n: 1 }, version: 1, confirmed: true });
  });

  it('forgets a left scope and caps the number of scopes', () => {
    const removed: string[] = [];
    const sync = new StateSync({ maxScopes: 1, remove: (scope) => removed.push(scope) });
    sync.receive(full(1, 1));
    expect(sync.receive({ ...full(1, 1), scope: 'room:other' })).toEqual({ outcome: 'too_many_scopes', actions: [] });
    sync.forget(S);
    expect(removed).toEqual([S]);
    expect(sync.receive({ ...full(1, 1), scope: 'room:other' }).outcome).toBe('applied');
    expect(sync.current('live').map((c) => c.scope)).toEqual(['room:other']);
  });

  it('validates its options', () => {
    expect(() => new StateSync({ maxScopes: 0 })).toThrow(/options.maxScopes/);
    expect(() => new StateSync({ persist: 1 as never })).toThrow(/options.persist must be a function/);
  });
});
