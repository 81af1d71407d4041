/**
 * The state service inside real reference servers (port 0, raw protocol clients), two instances
 * sharing one store; the client side is the real StateSync replica.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { engineStateService } from '../../src/server/state/engine-state-service.js';
import type { StateEventEnvelope } from '../../src/server/state/engine-state-service.js';
import { StateSync } from '../../src/client/state-sync.js';
import type { Json, ServerFrame, StateUpdateFrame } from '../../src/protocol/frames.js';
import type { ServerOptions } from '../../src/server/index.js';
import { TestClient, startServer, teardown, until } from '../server/helpers.js';

const stores: MemoryStore[] = [];
afterEach(async () => {
  await teardown();
  for (const s of stores.splice(0)) await s.close();
});

interface Board {
  items: string[];
}

/** The application's reducer: sees the envelope the service stores (sender + client event). */
function applyEvent(state: Json, event: Json): Json | undefined {
  const e = event as unknown as StateEventEnvelope;
  const data = e.data as { add?: string; refuse?: boolean };
  if (data.refuse) throw new Error('not allowed');
  const board = (state ?? { items: [] }) as unknown as Board;
  return { items: [...board.items, `${data.add}@${e.from.slice(0, 4)}`] };
}

let lastStore: MemoryStore | undefined;
async function twoServers(retransmit = 5000) {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  stores.push(store);
  lastStore = store;
  const options = (): ServerOptions => ({ store, stateService: engineStateService({ applyEvent, initialState: () => ({ items: [] }), stateRetransmit: retransmit }) } as ServerOptions);
  return [await startServer(options()), await startServer(options())] as const;
}

/** A protocol client with a StateSync replica that acks what it applies. */
class StateClient {
  readonly sync = new StateSync();
  constructor(readonly client: TestClient, readonly autoAck = true) {}

  /** Take STATE_UPDATE frames of `scope` until the replica holds `version`. */
  async until(scope: string, version: number): Promise<StateUpdateFrame[]> {
    const seen: StateUpdateFrame[] = [];
    while ((this.sync.get(scope)?.version ?? -1) < version) {
      const f = await this.client.take((x: ServerFrame): x is StateUpdateFrame => x.type === 'STATE_UPDATE' && x.scope === scope, `STATE_UPDATE ${scope} v${version}`);
      seen.push(f);
      for (const a of this.sync.receive(f).actions) if (a.type === 'send' && (this.autoAck || a.frame.type !== 'STATE_ACK')) this.client.send(a.frame);
    }
    return seen;
  }

  event(scope: string, event: Json): number {
    const seq = this.client.nextSeq();
    this.client.send({ type: 'STATE_EVENT', seq, scope, event });
    return seq;
  }
}

describe('state service in the reference server', () => {
  it('shares room state across instances: join, live updates, acks with versions', async () => {
    const [s1, s2] = await twoServers();
    const a = new StateClient(await TestClient.open(s1.url));
    await a.client.hello(['r'], undefined, {});
    expect((await a.until('room:r', 0))[0]).toMatchObject({ version: 0, full: { items: [] } });
    await a.until('session', 0);

    const b = new StateClient(await TestClient.open(s2.url));
    await b.client.hello(undefined, undefined, {});
    b.client.send({ type: 'JOIN_ROOM', seq: b.client.nextSeq(), room: 'r' });
    await b.client.next('ROOM_JOINED_ACK');
    await b.until('room:r', 0);

    const seq = a.event('room:r', { add: 'x' });
    expect(await a.client.next('ACK')).toEqual({ type: 'ACK', seq, version: 1 });
    await a.until('room:r', 1);
    await b.until('room:r', 1);
    b.event('room:r', { add: 'y' });
    await b.client.next('ACK');
    await a.until('room:r', 2);
    await b.until('room:r', 2);
    expect(a.sync.get('room:r')).toEqual(b.sync.get('room:r'));
    expect((a.sync.get('room:r')?.value as unknown as Board).items).toHaveLength(2);
  });

  it('on resume sends only what changed since the client version, on the other instance', async () => {
    const [s1, s2] = await twoServers();
    const a = new StateClient(await TestClient.open(s1.url));
    const hello = await a.client.hello(['r'], undefined, {});
    await a.until('room:r', 0);
    await a.until('session', 0);
    a.event('session', { add: 'mine' });
    await a.client.next('ACK');
    await a.until('session', 1);
    a.client.close();
    await a.client.closed;
    // Not a takeover test: let the first instance detach the session before resuming it.
    await until(async () => (await lastStore?.getSession(hello.sessionId))?.owner === null, 'the session is detached');

    const b = new StateClient(await TestClient.open(s2.url));
    await b.client.hello(['r'], undefined, {});
    await b.until('room:r', 0);
    for (const add of ['1', '2', '3']) {
      b.event('room:r', { add });
      await b.client.next('ACK');
    }

    const back = new StateClient(await TestClient.open(s2.url));
    back.sync.restore({ 'room:r': { value: a.sync.get('room:r')?.value ?? null, version: 0 }, session: { value: a.sync.get('session')?.value ?? null, version: 1 } });
    back.client.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: hello.resumeToken, positions: {}, lastAckedSeq: 1, state: back.sync.versions() });
    const recovered = await back.client.take((f: ServerFrame): f is ServerFrame => f.type === 'STATE_RECOVERED' || f.type === 'ERROR', 'STATE_RECOVERED');
    expect(recovered).toMatchObject({ type: 'STATE_RECOVERED' });
    const room = await back.until('room:r', 3);
    expect(room).toHaveLength(1);
    expect(room[0]).toMatchObject({ reason: 'recovery', version: 3 });
    const session = await back.client.take((f: ServerFrame): f is StateUpdateFrame => f.type === 'STATE_UPDATE' && f.scope === 'session', 'session confirmation');
    expect(session).toMatchObject({ version: 1, base: 1, patch: [], reason: 'recovery' });
    back.sync.receive(session);
    expect(back.sync.get('session')).toMatchObject({ version: 1, confirmed: true, value: { items: [expect.stringMatching(/^mine@/)] } });
    await b.until('room:r', 3);
    expect(back.sync.get('room:r')).toEqual(b.sync.get('room:r'));
  });

  it('refuses, deduplicates and checks membership of STATE_EVENTs', async () => {
    const [s1] = await twoServers();
    const a = new StateClient(await TestClient.open(s1.url));
    await a.client.hello(['r'], undefined, {});
    await a.until('room:r', 0);
    const refused = a.event('room:r', { refuse: true });
    expect(await a.client.next('ACK')).toMatchObject({ seq: refused, error: { code: 'ERR_STATE_REJECTED' } });
    const outside = a.event('room:elsewhere', { add: 'x' });
    expect(await a.client.next('ACK')).toMatchObject({ seq: outside, error: { code: 'ERR_NOT_IN_ROOM' } });
    const ok = a.event('room:r', { add: 'once' });
    expect(await a.client.next('ACK')).toEqual({ type: 'ACK', seq: ok, version: 1 });
    // A re-send of the same seq (as after a reconnect) is acknowledged, not applied again.
    a.client.send({ type: 'STATE_EVENT', seq: ok, scope: 'room:r', event: { add: 'once' } });
    expect(await a.client.next('ACK')).toEqual({ type: 'ACK', seq: ok });
    await a.until('room:r', 1);
    const next = a.event('room:r', { add: 'twice' });
    expect(await a.client.next('ACK')).toEqual({ type: 'ACK', seq: next, version: 2 });
  });

  it('retransmits an unacknowledged version as a full update and answers STATE_RESYNC', async () => {
    const [s1] = await twoServers(200);
    const a = new StateClient(await TestClient.open(s1.url), false);
    await a.client.hello(['r'], undefined, {});
    await a.until('room:r', 0);
    const again = await a.client.take((f: ServerFrame): f is StateUpdateFrame => f.type === 'STATE_UPDATE' && f.scope === 'room:r', 'a retransmission');
    expect(again).toMatchObject({ version: 0, full: { items: [] } });
    a.client.send({ type: 'STATE_RESYNC', scope: 'room:r' });
    expect(await a.client.take((f: ServerFrame): f is StateUpdateFrame => f.type === 'STATE_UPDATE' && f.reason === 'resync', 'the resync answer')).toMatchObject({ version: 0, full: { items: [] } });
    a.client.send({ type: 'STATE_RESYNC', scope: 'room:nope' });
    expect(await a.client.next('ERROR')).toMatchObject({ code: 'ERR_NO_STATE', scope: 'room:nope' });
  });
});
