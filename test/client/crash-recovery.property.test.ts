/**
 * Property: whatever the interleaving of sends, lost frames, dropped connections, slow storage
 * writes and crashes (an instance abandoned with its unfinished writes lost, a new one started on
 * the same storage), no message the client ever transmitted or saw acknowledged is lost, none is
 * processed twice within a session, and each session processes them in the order they were sent.
 * This is what "persist before transmit" buys: a crash can never make a new instance reuse a
 * `seq` the server already processed for another message (which it would drop as a duplicate).
 *
 * The server here is a model of the reference server's sequencing rules (docs/protocol.md),
 * driven frame by frame by the test; the real server is exercised in integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { StorageAdapter } from '../../src/storage/storage-adapter.js';
import type { ClientFrame } from '../../src/protocol/index.js';
import { FakeClock, fakeWebSocket, settle } from './fakes.js';
import type { FakeSocket } from './fakes.js';

/** Storage whose writes complete only when the test says so; a crash loses the pending ones. */
class SlowStorage implements StorageAdapter {
  readonly committed = new Map<string, unknown>();
  pending: Array<{ key: string; value: unknown; done: () => void }> = [];
  get(key: string): unknown {
    return structuredClone(this.committed.get(key));
  }
  set(key: string, value: unknown): Promise<void> {
    return new Promise((done) => this.pending.push({ key, value: structuredClone(value), done }));
  }
  delete(key: string): void {
    this.committed.delete(key);
  }
  flushOne(): void {
    const w = this.pending.shift();
    if (!w) return;
    this.committed.set(w.key, w.value);
    w.done();
  }
  crash(): void {
    this.pending = []; // never resolved: that instance is gone
  }
}

interface ServerSession {
  token: string;
  /** The token presented at the last resume: accepted until `token` is used (as the reference server does). */
  prev?: string;
  lastSeq: number;
}

/** The server's sequencing rules, one frame at a time. */
class ServerModel {
  readonly sessions = new Map<string, ServerSession>();
  /** Processed message ids, per session, in processing order. */
  readonly processed = new Map<string, string[]>();
  #n = 0;
  handle(frame: ClientFrame, bound: { sessionId?: string }): object[] {
    const answer = (type: 'NEW_SESSION' | 'STATE_RECOVERED', id: string, extra: object) => ({
      type, v: 1, sessionId: id, resumeToken: this.sessions.get(id)!.token, user: null, rooms: {},
      heartbeat: { interval: 1e9, timeout: 1e9 }, limits: { maxPayload: 1 << 20, maxRooms: 10, maxRate: 1000 }, ...extra,
    });
    const fresh = (reason?: string) => {
      const id = `s${++this.#n}`;
      this.sessions.set(id, { token: `t${this.#n}-0`, lastSeq: 0 });
      this.processed.set(id, []);
      bound.sessionId = id;
      return [answer('NEW_SESSION', id, { recovered: false, ...(reason ? { reason } : {}) })];
    };
    switch (frame.type) {
      case 'HELLO':
        return fresh();
      case 'RECONNECT': {
        const s = this.sessions.get(frame.sessionId);
        if (!s) return fresh('unknown');
        if (s.token !== frame.resumeToken && s.prev !== frame.resumeToken) return fresh('token_rejected');
        s.prev = frame.resumeToken; // still accepted until the rotated one is used
        s.token = `${s.token}+`;
        bound.sessionId = frame.sessionId;
        return [answer('STATE_RECOVERED', frame.sessionId, { lastSeq: s.lastSeq, recovered: true }), { type: 'REPLAY_DONE', replayed: 0 }];
      }
      case 'MESSAGE': {
        const s = this.sessions.get(bound.sessionId!)!;
        if (frame.seq <= s.lastSeq) return [{ type: 'ACK', seq: frame.seq }];
        if (frame.seq > s.lastSeq + 1) return [{ type: 'ERROR', code: 'ERR_OUT_OF_ORDER', message: 'out of order', seq: frame.seq }];
        s.lastSeq = frame.seq;
        this.processed.get(bound.sessionId!)!.push(frame.id);
        return [{ type: 'ACK', seq: frame.seq }];
      }
      default:
        return [];
    }
  }
}

type Step =
  | { kind: 'send' }
  | { kind: 'toServer' }
  | { kind: 'toClient'; lose: boolean }
  | { kind: 'flush' }
  | { kind: 'pump' }
  | { kind: 'drop' }
  | { kind: 'crash' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'send' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'toServer' as const }) },
  { weight: 4, arbitrary: fc.boolean().map((lose) => ({ kind: 'toClient' as const, lose })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'pump' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

/** Run one scenario and check the invariants (with `acrossSessions`: no duplicate at all). */
async function run(steps: Step[], acrossSessions = false): Promise<void> {
  const storage = new SlowStorage();
  const server = new ServerModel();
  const clock = new FakeClock();
  const instances: ReconnectingWebSocket[] = [];
  const appOrder: string[] = [];
  const acked = new Set<string>();
  const transmitted = new Set<string>();
  // Per socket: how many client frames the server has read, frames waiting for the client, the session bound.
  const links = new Map<FakeSocket, { read: number; toClient: object[]; bound: { sessionId?: string } }>();
  let fake = fakeWebSocket();
  let nextId = 0;
  const start = () => {
    fake = fakeWebSocket();
    const ws = new ReconnectingWebSocket('ws://model.test/', {
      WebSocket: fake.WebSocket, timers: clock, now: () => clock.now, storage, environment: {}, jitter: 'none', initialReconnectDelay: 10, maxReconnectDelay: 10, connectTimeout: 100, mode: 'protocol',
    });
    ws.on('error', () => undefined);
    instances.push(ws);
    return ws;
  };
  let ws = start();
  const current = (): FakeSocket | undefined => {
    const s = fake.sockets.at(-1);
    if (!s || s.readyState > 1) return undefined;
    if (s.readyState === 0) s.open();
    if (!links.has(s)) links.set(s, { read: 0, toClient: [], bound: {} });
    return s;
  };
  const toServer = (): boolean => {
    const s = current();
    if (!s) return false;
    const link = links.get(s)!;
    const frames = s.frames();
    if (link.read >= frames.length) return false;
    const frame = frames[link.read++]!;
    if (frame.type === 'MESSAGE') transmitted.add(frame.id);
    link.toClient.push(...server.handle(frame, link.bound));
    return true;
  };
  const toClient = (lose: boolean): boolean => {
    const s = current();
    if (!s) return false;
    const frame = links.get(s)!.toClient.shift();
    if (!frame) return false;
    // A WebSocket does not lose single frames: a lost frame means the connection died.
    if (lose) s.drop(1006);
    else s.receive(frame);
    return true;
  };
  await settle();
  for (const step of steps) {
    if (step.kind === 'send') {
      const id = `m${nextId++}`;
      appOrder.push(id);
      ws.send(id, { id }).then(() => acked.add(id), () => undefined);
    } else if (step.kind === 'toServer') toServer();
    else if (step.kind === 'toClient') toClient(step.lose);
    else if (step.kind === 'flush') storage.flushOne();
    else if (step.kind === 'pump') {
      // Everything in flight arrives, both ways (storage stays as slow as it is).
      for (let k = 0; k < 20 && (toServer() || toClient(false)); k++) await settle();
    }
    else if (step.kind === 'drop') {
      current()?.drop(1006);
      await clock.advance(10);
    } else {
      // The process dies: its socket goes, its unfinished writes are lost.
      ws.removeAllListeners();
      current()?.drop(1006);
      storage.crash();
      ws = start();
    }
    await settle();
  }
  // Quiet period: a perfect network and storage until nothing moves.
  for (let round = 0; round < 500; round++) {
    let moved = false;
    while (storage.pending.length > 0) {
      storage.flushOne();
      moved = true;
    }
    await settle();
    while (toServer()) moved = true;
    while (toClient(false)) moved = true;
    await settle();
    if (ws.status !== 'open') {
      await clock.advance(10);
      moved = true;
    }
    if (!moved && ws.stats.queueLength === 0) break;
  }
  for (const old of instances) old.removeAllListeners();
  expect(ws.stats.queueLength).toBe(0);
  const processedAll = [...server.processed.values()].flat();
  for (const id of new Set([...transmitted, ...acked])) expect(processedAll).toContain(id);
  if (acrossSessions) expect(new Set(processedAll).size).toBe(processedAll.length);
  for (const [, ids] of server.processed) {
    expect(new Set(ids).size).toBe(ids.length);
    const positions = ids.map((id) => appOrder.indexOf(id));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
  }
}

describe('crash recovery (property)', () => {
  it('never loses a transmitted or acknowledged message; no duplicates or reordering within a session', async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 45 }), (steps) => run(steps)), {
      numRuns: 600,
      // Regression: sent before its seq was persisted, processed, then a crash: the next instance
      // reused seq 1 for another message, which the server acknowledged as a duplicate (lost).
      examples: [[[{ kind: 'toServer' }, { kind: 'toClient', lose: false }, { kind: 'flush' }, { kind: 'send' }, { kind: 'toServer' }, { kind: 'crash' }, { kind: 'send' }, { kind: 'toServer' }, { kind: 'toClient', lose: false }]]],
    });
  }, 60_000);

  // Regression (was a KNOWN GAP): a crash after STATE_RECOVERED but before the rotated token is
  // stored made the next instance's resume fail (token_rejected); its queue was re-sent under a
  // new session and an operation whose ack was lost was processed twice. The server now accepts
  // the previously presented token until the new one is used (test/security/resume-token.test.ts
  // checks the real server).
  it('no duplicate across sessions when a crash loses the rotated token', async () => {
    await run([{ kind: 'toServer' }, { kind: 'toClient', lose: false }, { kind: 'flush' }, { kind: 'flush' }, { kind: 'send' }, { kind: 'flush' }, { kind: 'toServer' }, { kind: 'drop' }, { kind: 'toServer' }, { kind: 'toClient', lose: false }, { kind: 'crash' }], true);
  });
});
