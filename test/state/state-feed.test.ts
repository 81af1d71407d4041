import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { StateEngine } from '../../src/server/state/state-engine.js';
import { StateFeed } from '../../src/server/state/state-feed.js';
import { StateSync } from '../../src/client/state-sync.js';
import type { StateUpdateFrame } from '../../src/protocol/frames.js';
import { decodeClientFrame, decodeServerFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { VersionListener } from '../../src/server/stores/store.js';
import { applyEvent, initialState } from './fixtures/reducer.mjs';
import { track } from './track.js';


/** Put a frame through the real codec, as the wire would. */
function overTheWire<F extends { type: string }>(frame: F, decode: (text: string) => { ok: boolean }): F {
  const decoded = decode(encodeFrame(frame as never));
  expect(decoded).toMatchObject({ ok: true });
  return (decoded as unknown as { frame: F }).frame;
}

/** A connection's server side (feed) wired to a client replica through an inspectable wire. */
function setup(options: { sessionId?: string; retransmitMs?: number } = {}) {
  let now = 1_000;
  const store = track(new MemoryStore({ sweepIntervalMs: 0 }));
  const engine = track(new StateEngine({ store, applyEvent, initialState, historySize: 8 }));
  const wire: StateUpdateFrame[] = [];
  const errors: unknown[] = [];
  const toStoreScope = (scope: string) => (scope === 'session' ? `session:${options.sessionId ?? 'sid'}` : scope);
  const feed = new StateFeed({
    changesSince: (scope, v, k) => engine.changesSince(scope, v, k),
    send: (frame) => wire.push(frame),
    toStoreScope,
    retransmitMs: options.retransmitMs ?? 5000,
    now: () => now,
    onError: (err) => errors.push(err),
  });
  const client = new StateSync();
  /** Deliver every frame on the wire to the client and its answers to the feed. */
  async function deliver(): Promise<void> {
    while (wire.length > 0) {
      const frame = overTheWire(wire.shift() as StateUpdateFrame, decodeServerFrame);
      for (const a of client.receive(frame).actions) {
        if (a.type !== 'send') continue;
        overTheWire(a.frame, decodeClientFrame);
        if (a.frame.type === 'STATE_ACK') feed.ack(a.frame.scope, a.frame.version);
        else await feed.resync(a.frame.scope);
      }
    }
  }
  const listeners: [string, VersionListener][] = [];
  async function subscribe(scope: string): Promise<void> {
    const storeScope = toStoreScope(scope);
    const listener: VersionListener = (_s, version) => void feed.notify(scope, version);
    listeners.push([storeScope, listener]);
    await store.subscribeState(storeScope, listener);
  }
  return { store, engine, feed, wire, client, deliver, subscribe, errors, clock: { advance: (ms: number) => (now += ms), get: () => now } };
}

/** Let store notifications and the feed's reads run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('StateFeed', () => {
  it('sends the full state on follow, then live patches in version order', async () => {
    const t = setup();
    await t.engine.append('room:a', { inc: 1 });
    await t.subscribe('room:a');
    await t.feed.follow('room:a', null, 'live');
    expect(t.wire).toEqual([{ type: 'STATE_UPDATE', scope: 'room:a', version: 1, full: { n: 1, kv: {} }, reason: 'live' }]);
    await t.deliver();
    // Long values: a patch is then smaller than the full value, so the feed sends patches.
    for (let i = 0; i < 10; i++) {
      await t.engine.append('room:a', { set: `k${i % 5}`, value: `${i}`.padEnd(60, '.') });
      await settle();
    }
    expect(t.wire.map((f) => f.version)).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
    // Patches chain from the previous version (a full value only where it is the smaller frame).
    for (const f of t.wire) if (f.full === undefined) expect(f.base).toBe(f.version - 1);
    expect(t.wire.filter((f) => f.patch !== undefined).length).toBeGreaterThan(5);
    await t.deliver();
    // A burst is coalesced: versions only go up, each is sent at most once.
    for (let i = 0; i < 30; i++) void t.engine.append('room:a', { set: `k${i % 5}`, value: `${i}`.padEnd(60, '.') });
    await settle();
    await t.feed.notify('room:a', 41);
    const versions = t.wire.map((f) => f.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions.at(-1)).toBe(41);
    await t.deliver();
    expect(t.client.get('room:a')).toEqual({ ...(await t.engine.get('room:a')), confirmed: true });
    expect(t.feed.nextDeadline()).toBeNull();
  });

  it('on resume confirms an unchanged version with an empty patch and patches a recent one', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await t.engine.append('room:a', { inc: 1 });
    await t.feed.follow('room:a', 3);
    expect(t.wire).toEqual([{ type: 'STATE_UPDATE', scope: 'room:a', version: 3, base: 3, patch: [], reason: 'recovery' }]);
    t.wire.length = 0;
    await t.engine.append('room:b', { set: 'text', value: 'long enough to be worth a patch'.repeat(4) });
    await t.engine.append('room:b', { inc: 10 });
    await t.feed.follow('room:b', 1);
    expect(t.wire).toEqual([{ type: 'STATE_UPDATE', scope: 'room:b', version: 2, base: 1, patch: [{ op: 'replace', path: '/n', value: 10 }], reason: 'recovery' }]);
    // Too old for the history: the full value.
    t.wire.length = 0;
    for (let i = 0; i < 10; i++) await t.engine.append('room:c', { inc: 1 });
    await t.feed.follow('room:c', 0);
    expect(t.wire).toMatchObject([{ version: 10, full: { n: 10 } }]);
  });

  it('maps the session scope to the session key in the store', async () => {
    const t = setup({ sessionId: 'abc' });
    await t.engine.append('session:abc', { set: 'theme', value: 'dark' });
    await t.feed.follow('session', null, 'recovery');
    expect(t.wire).toMatchObject([{ scope: 'session', version: 1, full: { kv: { theme: 'dark' } } }]);
  });

  it('retransmits the latest unacknowledged version as a full update after retransmitMs', async () => {
    const t = setup({ retransmitMs: 5000 });
    await t.subscribe('room:a');
    await t.feed.follow('room:a', null, 'live');
    t.wire.length = 0; // lost
    await t.engine.append('room:a', { inc: 2 });
    await settle();
    t.wire.length = 0; // lost too
    expect(t.feed.nextDeadline()).toBe(t.clock.get() + 5000);
    t.clock.advance(4999);
    await t.feed.tick();
    expect(t.wire).toEqual([]);
    t.clock.advance(1);
    await t.feed.tick();
    expect(t.wire).toEqual([{ type: 'STATE_UPDATE', scope: 'room:a', version: 1, full: { n: 2, kv: {} }, reason: 'live' }]);
    await t.deliver();
    expect(t.feed.nextDeadline()).toBeNull();
    expect(t.client.get('room:a')).toMatchObject({ version: 1, confirmed: true });
  });

  it('answers STATE_RESYNC with the full value', async () => {
    const t = setup();
    await t.engine.append('room:a', { inc: 1 });
    await t.feed.follow('room:a', 1);
    t.wire.length = 0;
    await t.feed.resync('room:a');
    expect(t.wire).toEqual([{ type: 'STATE_UPDATE', scope: 'room:a', version: 1, full: { n: 1, kv: {} }, reason: 'resync' }]);
    await t.feed.resync('room:unknown');
    expect(t.wire).toHaveLength(1);
  });

  it('reports a failed read and retries it on the next tick', async () => {
    const t = setup();
    await t.engine.append('room:a', { inc: 1 });
    let fail = true;
    const wire: StateUpdateFrame[] = [];
    const errors: unknown[] = [];
    const feed = new StateFeed({
      changesSince: (scope, v) => (fail ? Promise.reject(new Error('store down')) : t.engine.changesSince(scope, v)),
      send: (f) => wire.push(f),
      toStoreScope: (s) => s,
      now: () => t.clock.get(),
      onError: (err) => errors.push(err),
    });
    await feed.follow('room:a', null, 'live');
    expect(wire).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(feed.nextDeadline()).toBe(t.clock.get());
    fail = false;
    await feed.tick();
    expect(wire).toMatchObject([{ version: 1, full: { n: 1 } }]);
  });

  it('stops sending a scope it no longer follows and validates its options', async () => {
    const t = setup();
    await t.subscribe('room:a');
    await t.feed.follow('room:a', null, 'live');
    t.feed.unfollow('room:a');
    t.wire.length = 0;
    await t.engine.append('room:a', { inc: 1 });
    await settle();
    expect(t.wire).toEqual([]);
    expect(t.feed.followed()).toEqual([]);
    expect(() => new StateFeed({ changesSince: 1, send: () => {}, toStoreScope: (s: string) => s } as never)).toThrow(/options.changesSince/);
    expect(() => new StateFeed({ changesSince: async () => ({ version: 0, full: null }), send: () => {}, toStoreScope: (s) => s, retransmitMs: 0 })).toThrow(/options.retransmitMs/);
  });

  it('keeps a client in step with appends from two instances while frames are lost (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ on: fc.constantFrom(0, 1), lose: fc.boolean(), tick: fc.boolean() }), { maxLength: 40 }),
        async (steps) => {
          let now = 0;
          const store = new MemoryStore({ sweepIntervalMs: 0 });
          const engines = [0, 1].map(() => new StateEngine({ store, applyEvent, initialState, historySize: 3, snapshotEvery: 4 }));
          const wire: StateUpdateFrame[] = [];
          const feed = new StateFeed({ changesSince: (s, v, k) => (engines[1] as StateEngine).changesSince(s, v, k), send: (f) => wire.push(f), toStoreScope: (s) => s, retransmitMs: 100, now: () => now });
          const client = new StateSync();
          const listener: VersionListener = (_s, v) => void feed.notify('room:x', v);
          try {
            await store.subscribeState('room:x', listener);
            await feed.follow('room:x', null, 'live');
            const deliver = async (): Promise<void> => {
              while (wire.length > 0) {
                for (const a of client.receive(overTheWire(wire.shift() as StateUpdateFrame, decodeServerFrame)).actions) {
                  if (a.type === 'send' && a.frame.type === 'STATE_ACK') feed.ack(a.frame.scope, a.frame.version);
                  else if (a.type === 'send') await feed.resync(a.frame.scope);
                }
              }
            };
            let i = 0;
            for (const step of steps) {
              await (engines[step.on] as StateEngine).append('room:x', { set: `k${i % 4}`, value: i++ });
              await settle();
              if (step.lose) wire.length = 0;
              else await deliver();
              if (step.tick) {
                now += 100;
                await feed.tick();
                await deliver();
              }
            }
            for (let round = 0; round < 3 && feed.nextDeadline() !== null; round++) {
              now += 100;
              await feed.tick();
              await deliver();
            }
            const server = await (engines[0] as StateEngine).get('room:x');
            expect(client.get('room:x') ?? { version: 0, value: server.value, confirmed: true }).toEqual({ ...server, confirmed: true });
          } finally {
            await store.unsubscribeState('room:x', listener);
            for (const e of engines) await e.close();
            await store.close();
          }
        },
      ),
      { numRuns: Number(process.env['STATE_PROPERTY_RUNS'] ?? 40) },
    );
  });
});
