/**
 * The client replica against the real engine over a faulty "wire": updates dropped, duplicated,
 * reordered, connections cut, the client process restarted from its persisted state, two server
 * instances sharing one store. Whatever happens, the replica never holds a value that differs
 * from the server's value at that version, and after the faults stop it ends at the server's
 * latest version and value, confirmed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { StateEngine } from '../../src/server/state/state-engine.js';
import type { StateChanges } from '../../src/server/state/state-engine.js';
import { StateSync } from '../../src/client/state-sync.js';
import type { SavedState, StateAction, StateChange } from '../../src/client/state-sync.js';
import type { Json, StateAckFrame, StateResyncFrame, StateUpdateFrame } from '../../src/protocol/frames.js';
import { applyEvent, initialState } from './fixtures/reducer.mjs';

const SCOPE = 'room:p';

type Step =
  | { kind: 'append'; instance: 0 | 1; event: Json }
  | { kind: 'deliver'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'drop'; pick: number }
  | { kind: 'flushClient' }
  | { kind: 'retransmit'; instance: 0 | 1 }
  | { kind: 'reconnect'; instance: 0 | 1 }
  | { kind: 'reload'; instance: 0 | 1 };

const instance = fc.constantFrom<0 | 1>(0, 1);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), instance, event: fc.oneof(fc.record({ inc: fc.integer({ min: 1, max: 3 }) }), fc.record({ set: fc.constantFrom('a', 'b/c', 'd~e'), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> })) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flushClient' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retransmit' as const), instance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), instance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), instance }) },
);

function toFrame(changes: StateChanges, reason: StateUpdateFrame['reason']): StateUpdateFrame {
  return changes.full !== undefined
    ? { type: 'STATE_UPDATE', scope: SCOPE, version: changes.version, full: changes.full, reason }
    : { type: 'STATE_UPDATE', scope: SCOPE, version: changes.version, base: changes.base, patch: changes.patch, reason };
}

async function run(steps: Step[], historySize: number, snapshotEvery: number): Promise<void> {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  const engines = [0, 1].map(() => new StateEngine({ store, applyEvent, initialState, historySize, snapshotEvery }));
  try {
    const truth = new Map<number, Json>([[0, initialState(SCOPE)]]);
    const persisted = new Map<string, SavedState>();
    const emitted: StateChange[] = [];
    let toClient: StateUpdateFrame[] = [];
    let toServer: (StateAckFrame | StateResyncFrame)[] = [];
    let acked = -1;
    let server = engines[0] as StateEngine;
    let client = newClient();

    function newClient(): StateSync {
      const sync = new StateSync({ persist: (scope, s) => persisted.set(scope, structuredClone(s)) });
      return sync;
    }
    function carry(actions: StateAction[]): void {
      for (const a of actions) {
        if (a.type === 'send') toServer.push(a.frame);
        else emitted.push(a.change);
      }
    }
    function check(): void {
      const held = client.get(SCOPE);
      if (held !== null) expect(held.value).toEqual(truth.get(held.version));
    }
    function receive(frame: StateUpdateFrame): void {
      carry(client.receive(structuredClone(frame)).actions);
      check();
    }
    async function resume(on: 0 | 1): Promise<void> {
      toClient = [];
      toServer = [];
      // Ack tracking is per connection: a new one starts with nothing acknowledged.
      acked = -1;
      client.connectionLost();
      server = engines[on] as StateEngine;
      // The RECONNECT carries the client's versions; the server answers with what changed.
      const version = client.versions()[SCOPE] ?? null;
      toClient.push(toFrame(await server.changesSince(SCOPE, version), 'recovery'));
    }

    await resume(0);
    for (const step of steps) {
      switch (step.kind) {
        case 'append': {
          const r = await (engines[step.instance] as StateEngine).append(SCOPE, step.event);
          if (r.status !== 'appended') throw new Error('append failed');
          truth.set(r.version, r.value);
          // Live fan-out reaches the client through whichever instance it is connected to.
          toClient.push({ type: 'STATE_UPDATE', scope: SCOPE, version: r.version, base: r.base, patch: r.patch, reason: 'live' });
          break;
        }
        case 'deliver':
        case 'duplicate':
        case 'drop': {
          if (toClient.length === 0) break;
          const i = step.pick % toClient.length;
          const frame = toClient[i] as StateUpdateFrame;
          if (step.kind !== 'duplicate') toClient.splice(i, 1);
          if (step.kind !== 'drop') receive(frame);
          break;
        }
        case 'flushClient':
          for (const f of toServer.splice(0)) {
            if (f.type === 'STATE_ACK') acked = Math.max(acked, f.version);
            else toClient.push(toFrame(await server.changesSince(SCOPE, null), 'resync'));
          }
          break;
        case 'retransmit': {
          const latest = await server.get(SCOPE);
          if (acked < latest.version) toClient.push({ type: 'STATE_UPDATE', scope: SCOPE, version: latest.version, full: latest.value, reason: 'live' });
          break;
        }
        case 'reconnect':
          await resume(step.instance);
          break;
        case 'reload': {
          client = newClient();
          const saved = Object.fromEntries(persisted);
          const restored = client.restore(structuredClone(saved));
          carry(restored);
          const held = client.get(SCOPE);
          if (held !== null) expect(held.confirmed).toBe(false);
          check();
          await resume(step.instance);
          break;
        }
      }
    }

    // Faults stop: deliver in order, answer the client, retransmit until the latest is acked.
    const latest = await server.get(SCOPE);
    for (let round = 0; round < 5 && (round === 0 || acked < latest.version); round++) {
      while (toClient.length > 0) receive(toClient.shift() as StateUpdateFrame);
      for (const f of toServer.splice(0)) {
        if (f.type === 'STATE_ACK') acked = Math.max(acked, f.version);
        else toClient.push(toFrame(await server.changesSince(SCOPE, null), 'resync'));
      }
      while (toClient.length > 0) receive(toClient.shift() as StateUpdateFrame);
      if (acked < latest.version) toClient.push({ type: 'STATE_UPDATE', scope: SCOPE, version: latest.version, full: latest.value, reason: 'live' });
    }
    for (const f of toServer.splice(0)) if (f.type === 'STATE_ACK') acked = Math.max(acked, f.version);
    expect(acked).toBe(latest.version);
    expect(client.get(SCOPE)).toEqual({ version: latest.version, value: latest.value, confirmed: true });
    expect(persisted.get(SCOPE)).toEqual({ version: latest.version, value: latest.value });
    // What the application saw never went back in version.
    for (let i = 1; i < emitted.length; i++) {
      const prev = emitted[i - 1] as StateChange;
      const cur = emitted[i] as StateChange;
      if (cur.source !== 'restored') expect(cur.version).toBeGreaterThanOrEqual(prev.version);
    }
  } finally {
    for (const e of engines) await e.close();
    await store.close();
  }
}

describe('state sync convergence', () => {
  it('ends at the server version and value despite drops, duplicates, reordering, reconnects and reloads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 80 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 20 }), async (steps, historySize, snapshotEvery) => {
        await run(steps, historySize, snapshotEvery);
      }),
      { numRuns: Number(process.env['STATE_PROPERTY_RUNS'] ?? 150) },
    );
  });

  it('converges on a long run with a small history (patches fall back to full values)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 150, maxLength: 300 }), async (steps) => {
        await run(steps, 2, 10);
      }),
      { numRuns: 15, endOnFailure: false },
    );
  });
});
