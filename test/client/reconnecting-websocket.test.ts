/**
 * Unit tests of ReconnectingWebSocket with a scripted WebSocket and a manual clock: every
 * transition is driven by the test, so nothing depends on real timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';
import type { StatusChange } from '../../src/client/events.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { ResilientSocketError, SUBPROTOCOL } from '../../src/protocol/index.js';
import { FakeClock, fakeWebSocket, newSession, settle, stateRecovered } from './fakes.js';

const open: ReconnectingWebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) if (ws.status !== 'closed') ws.close();
});

function setup(options: ReconnectingWebSocketOptions = {}, url = 'ws://example.test/socket') {
  const clock = new FakeClock();
  const fake = fakeWebSocket();
  const storage = (options.storage as MemoryStorage | undefined) ?? new MemoryStorage();
  const ws = new ReconnectingWebSocket(url, {
    WebSocket: fake.WebSocket,
    timers: clock,
    now: () => clock.now,
    jitter: 'none',
    storage,
    environment: {},
    ...options,
  });
  open.push(ws);
  const statuses: StatusChange[] = [];
  const errors: ResilientSocketError[] = [];
  ws.on('status', (s) => statuses.push(s));
  ws.on('error', (e) => errors.push(e));
  return { ws, clock, fake, storage, statuses, errors };
}

/** Connect the current socket in protocol mode and answer the handshake. */
async function handshake(t: ReturnType<typeof setup>, answer: Record<string, unknown> = newSession()) {
  await settle();
  const socket = t.fake.last();
  socket.open();
  await settle();
  socket.receive(answer);
  await settle();
  return socket;
}

describe('ReconnectingWebSocket: connection status', () => {
  it('reports every transition and retries with the backoff delays', async () => {
    const t = setup();
    const retries: unknown[] = [];
    t.ws.on('retry', (r) => retries.push(r));
    expect(t.ws.status).toBe('connecting');
    expect(t.ws.readyState).toBe(ReconnectingWebSocket.CONNECTING);
    await handshake(t);
    expect(t.ws.status).toBe('open');
    expect(t.ws.readyState).toBe(t.ws.OPEN);
    t.fake.last().drop(1006);
    expect(t.ws.status).toBe('reconnecting');
    expect(t.ws.nextRetryDelay).toBe(1000);
    await t.clock.advance(999);
    expect(t.fake.sockets).toHaveLength(1);
    await t.clock.advance(1);
    expect(t.fake.sockets).toHaveLength(2);
    t.fake.last().drop(1006); // fails before opening
    // 1000 * 2 = 2000, capped by the default fastReconnectMaxDelay (1000) early in an outage.
    expect(t.ws.nextRetryDelay).toBe(1000);
    await t.clock.advance(1000);
    await handshake(t, stateRecovered('s1', 't2', 0));
    expect(retries).toEqual([
      { attempt: 1, delay: 1000 },
      { attempt: 2, delay: 1000 },
    ]);
    expect(t.statuses.map((s) => `${s.from}>${s.to}`)).toEqual(['connecting>open', 'open>reconnecting', 'reconnecting>open']);
    expect(t.ws.stats.reconnects).toBe(1);
    expect(t.ws.attempt).toBe(0);
  });

  it('gives up after maxRetries with ERR_MAX_RETRIES', async () => {
    const t = setup({ maxRetries: 2 });
    await settle();
    for (let i = 0; i < 3; i++) {
      t.fake.last().drop(1006);
      await t.clock.advance(60_000);
    }
    expect(t.ws.status).toBe('closed');
    expect(t.errors.map((e) => e.code)).toContain('ERR_MAX_RETRIES');
    expect(t.fake.sockets).toHaveLength(3);
  });

  it('gives up on a connection that does not open within connectTimeout', async () => {
    const t = setup({ connectTimeout: 3000 });
    await settle();
    await t.clock.advance(3000);
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_CONNECT_TIMEOUT']);
    expect(t.ws.status).toBe('connecting');
    await t.clock.advance(1000);
    expect(t.fake.sockets).toHaveLength(2);
  });

  it.each([
    [4002, 'ERR_SESSION_TAKEN_OVER'],
    [4007, 'ERR_ORIGIN_REJECTED'],
    [4003, undefined],
  ])('close code %i: stops with %s (undefined: retries)', async (code, error) => {
    const t = setup();
    await handshake(t);
    t.fake.last().drop(code, 'why');
    await t.clock.advance(100_000);
    if (error === undefined) {
      expect(t.fake.sockets.length).toBeGreaterThan(1);
      return;
    }
    expect(t.ws.status).toBe('closed');
    expect(t.errors.at(-1)).toMatchObject({ code: error, closeCode: code });
    expect(t.fake.sockets).toHaveLength(1);
  });

  it('stops on 4001 and starts again on reconnect()', async () => {
    const t = setup();
    await handshake(t);
    t.fake.last().drop(4001, 'unauthorized');
    expect(t.ws.status).toBe('closed');
    expect(t.errors.at(-1)?.code).toBe('ERR_UNAUTHORIZED');
    await t.clock.advance(100_000);
    expect(t.fake.sockets).toHaveLength(1);
    // Stopped by the server, not by the application: operations still queue for later.
    const queued = t.ws.send('kept');
    await settle();
    expect(t.ws.stats.queueLength).toBe(1);
    t.ws.reconnect();
    await settle();
    expect(t.fake.sockets).toHaveLength(2);
    const socket = t.fake.last();
    socket.open();
    await settle();
    socket.receive(stateRecovered('s1', 'tok-2', 0));
    await settle();
    expect(socket.framesOf('MESSAGE').map((f) => f.data)).toEqual(['kept']);
    socket.receive({ type: 'ACK', seq: 1 });
    await expect(queued).resolves.toBeDefined();
  });

  it('close() sends BYE, never reconnects, refuses later sends and forgets the session', async () => {
    const t = setup();
    const socket = await handshake(t);
    const closes: unknown[] = [];
    t.ws.addEventListener('close', (e) => closes.push(e.code));
    t.ws.close();
    expect(t.ws.status).toBe('closing');
    await settle();
    expect(socket.framesOf('BYE')).toHaveLength(1);
    expect(t.ws.status).toBe('closed');
    expect(closes).toEqual([1000]);
    await t.clock.advance(600_000);
    expect(t.fake.sockets).toHaveLength(1);
    await expect(t.ws.send('late')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(t.storage.keys()).toEqual([]);
  });
});

describe('ReconnectingWebSocket: liveness', () => {
  it('a heartbeat catches a silent connection and reconnects', async () => {
    const t = setup({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
    const socket = await handshake(t);
    await t.clock.advance(1000);
    const ping = socket.framesOf('PING')[0]!;
    socket.receive({ type: 'PONG', t: ping.t });
    await t.clock.advance(1000);
    expect(t.ws.status).toBe('open');
    expect(t.ws.stats.rtt).toBe(0);
    // Now the server goes silent.
    await t.clock.advance(500);
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_HEARTBEAT_TIMEOUT']);
    expect(t.ws.status).toBe('reconnecting');
  });

  it('retries at once on online and when the page becomes visible', async () => {
    const win = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' });
    const t = setup({ environment: { window: win, document: doc }, initialReconnectDelay: 10_000, maxReconnectDelay: 10_000 });
    await settle();
    t.fake.last().drop(1006);
    win.dispatchEvent(new Event('online'));
    await settle();
    expect(t.fake.sockets).toHaveLength(2);
    t.fake.last().drop(1006);
    doc.dispatchEvent(new Event('visibilitychange')); // still hidden: nothing
    await settle();
    expect(t.fake.sockets).toHaveLength(2);
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    await settle();
    expect(t.fake.sockets).toHaveLength(3);
    // After close() the listeners are gone.
    t.ws.close();
    t.fake.last().drop(1006);
    win.dispatchEvent(new Event('online'));
    await settle();
    expect(t.fake.sockets).toHaveLength(3);
  });
});

describe('ReconnectingWebSocket: plain mode', () => {
  it('mode plain: offers no subprotocol, flushes the queue in order on open, passes frames through, no heartbeat', async () => {
    const t = setup({ mode: 'plain' });
    const seen: unknown[] = [];
    t.ws.onmessage = (e) => seen.push(e.data);
    const sends = [t.ws.send('a'), t.ws.send({ b: 1 })];
    await settle();
    const socket = t.fake.last();
    expect(socket.protocols).toEqual([]);
    socket.open('');
    await Promise.all(sends);
    expect(socket.sent).toEqual(['a', '{"b":1}']);
    socket.receive('raw text');
    expect(seen).toEqual(['raw text']);
    await t.clock.advance(60_000);
    expect(socket.sent).toHaveLength(2);
    expect(t.ws.mode).toBe('plain');
  });

  it('mode auto: "Server sent no subprotocol" (Node ws) switches to plain and reconnects at once', async () => {
    const t = setup();
    const p = t.ws.send('queued before we knew');
    await settle();
    const first = t.fake.last();
    expect(first.protocols).toEqual([SUBPROTOCOL]);
    first.error('Server sent no subprotocol');
    first.drop(1006);
    await t.clock.advance(0); // no backoff delay
    expect(t.fake.sockets).toHaveLength(2);
    const second = t.fake.last();
    expect(second.protocols).toEqual([]);
    second.open('');
    await expect(p).resolves.toBeUndefined();
    expect(second.sent).toEqual(['queued before we knew']);
    expect(t.errors).toEqual([]);
  });

  it('mode auto: a connection opened without the subprotocol (browsers) runs plain', async () => {
    const t = setup();
    await settle();
    t.fake.last().open('');
    await settle();
    expect(t.ws.mode).toBe('plain');
    await expect(t.ws.join('room')).rejects.toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
  });
});

describe('ReconnectingWebSocket: protocol mode', () => {
  it('invalid frames from the server become error events, never throws, and lose nothing', async () => {
    const t = setup();
    const socket = await handshake(t);
    const sent = t.ws.send({ hello: 1 });
    await settle();
    socket.receive('not json');
    socket.receive({ type: 'NOPE' });
    socket.receive({ type: 'ACK' });
    socket.receive(new ArrayBuffer(3));
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_BAD_JSON', 'ERR_UNKNOWN_TYPE', 'ERR_BAD_FRAME', 'ERR_BINARY_NOT_SUPPORTED']);
    expect(t.ws.stats.queueLength).toBe(1);
    socket.receive({ type: 'ACK', seq: 1, offset: 5 });
    await expect(sent).resolves.toMatchObject({ offset: 5 });
  });

  it('a frame before the handshake answer, or a second answer, is a protocol error: reconnect', async () => {
    // (In auto mode a first frame that is not a handshake answer means a plain server instead.)
    const t = setup({ mode: 'protocol' });
    await settle();
    t.fake.last().open();
    await settle();
    t.fake.last().receive({ type: 'PONG', t: 1 });
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_PROTOCOL']);
    expect(t.ws.status).toBe('connecting');
    await t.clock.advance(1000);
    const socket = await handshake(t);
    socket.receive(newSession('s9'));
    expect(t.errors.map((e) => e.code)).toEqual(['ERR_PROTOCOL', 'ERR_PROTOCOL']);
    expect(t.ws.status).toBe('reconnecting');
    expect(t.ws.sessionId).toBe('s1');
  });

  it('persists the queue before transmitting an operation', async () => {
    const log: string[] = [];
    const inner = new MemoryStorage();
    let release: (() => void) | undefined;
    const storage = {
      get: (k: string) => inner.get(k),
      delete: (k: string) => inner.delete(k),
      set: async (k: string, v: unknown) => {
        if (k.endsWith(':session') && (v as { queue: { items: unknown[] } }).queue.items.length > 0) {
          await new Promise<void>((r) => (release = r));
          log.push('persisted');
        }
        inner.set(k, v);
      },
    };
    const t = setup({ storage: storage as unknown as MemoryStorage });
    const socket = await handshake(t);
    void t.ws.send('x');
    await settle();
    expect(socket.framesOf('MESSAGE')).toHaveLength(0);
    release!();
    await settle();
    expect(log).toEqual(['persisted']);
    expect(socket.framesOf('MESSAGE').map((f) => f.seq)).toEqual([1]);
  });

  it('refuses with ERR_QUEUE_FULL and a queuefull event when the queue is full', async () => {
    const t = setup({ maxQueueLength: 2 });
    const full: unknown[] = [];
    t.ws.on('queuefull', (i) => full.push(i.error.code));
    void t.ws.send(1);
    void t.ws.send(2);
    await expect(t.ws.send(3)).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    expect(full).toEqual(['ERR_QUEUE_FULL']);
    expect(t.ws.stats.queueLength).toBe(2);
  });

  it('refuses messages larger than the announced maxPayload', async () => {
    const t = setup();
    await handshake(t, newSession('s1', { limits: { maxPayload: 100, maxRooms: 1, maxRate: 1 } }));
    await expect(t.ws.send('x'.repeat(200))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' });
  });

  it('drops a queued message the server turns out to be too small for, and renumbers the rest', async () => {
    const t = setup();
    const big = t.ws.send('x'.repeat(500));
    const small = t.ws.send('small');
    await handshake(t, newSession('s1', { limits: { maxPayload: 200, maxRooms: 1, maxRate: 1 } }));
    await expect(big).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' });
    await settle();
    expect(t.fake.last().framesOf('MESSAGE').map((f) => [f.seq, f.data])).toEqual([[1, 'small']]);
    t.fake.last().receive({ type: 'ACK', seq: 1 });
    await expect(small).resolves.toBeDefined();
  });

  it('resumes with RECONNECT, settles up to lastSeq and re-sends the rest in order', async () => {
    const t = setup();
    const socket = await handshake(t);
    const results = [t.ws.send('a'), t.ws.send('b'), t.ws.send('c')];
    await settle();
    expect(socket.framesOf('MESSAGE').map((f) => f.seq)).toEqual([1, 2, 3]);
    socket.drop(1006);
    await t.clock.advance(1000);
    const again = t.fake.last();
    again.open();
    await settle();
    const reconnect = again.framesOf('RECONNECT')[0]!;
    expect(reconnect).toMatchObject({ sessionId: 's1', resumeToken: 'tok-s1', lastAckedSeq: 0 });
    again.receive(stateRecovered('s1', 'tok-2', 1));
    await settle();
    await expect(results[0]).resolves.toMatchObject({ id: expect.any(String) });
    expect(again.framesOf('MESSAGE').map((f) => [f.seq, f.data])).toEqual([
      [2, 'b'],
      [3, 'c'],
    ]);
    again.receive({ type: 'ACK', seq: 3 });
    await Promise.all(results);
    expect(t.ws.recovered).toBe(true);
  });

  it('after an expired session, re-joins its rooms from its positions first and renumbers from 1', async () => {
    const t = setup();
    const socket = await handshake(t);
    const joined = t.ws.join('lobby');
    await settle();
    socket.receive({ type: 'ROOM_JOINED_ACK', seq: 1, room: 'lobby', stream: 'room:lobby', epoch: 'e1', offset: 4 });
    await joined;
    socket.receive({ type: 'NEW_MESSAGE', stream: 'room:lobby', epoch: 'e1', offset: 5, room: 'lobby', from: 'x', id: 'm5', data: 5, ts: 1 });
    void t.ws.send('pending', { room: 'lobby' });
    socket.drop(1006);
    const recovered: unknown[] = [];
    t.ws.on('recovered', (r) => recovered.push(r));
    await t.clock.advance(1000);
    await handshake(t, newSession('s2', { reason: 'expired' }));
    const frames = t.fake.last().frames().filter((f) => 'seq' in f);
    expect(frames).toEqual([
      { type: 'JOIN_ROOM', seq: 1, room: 'lobby', since: { epoch: 'e1', offset: 5 } },
      expect.objectContaining({ type: 'MESSAGE', seq: 2, data: 'pending', room: 'lobby' }),
    ]);
    expect(recovered).toEqual([expect.objectContaining({ recovered: false, reason: 'expired' })]);
    expect(t.ws.recovered).toBe(false);
  });

  it('delivers messages once and in order, acks positions in batches', async () => {
    const t = setup({ ackInterval: 250, ackEvery: 50 });
    const socket = await handshake(t);
    const got: unknown[] = [];
    t.ws.on('message', (m) => got.push([m.offset, m.replayed]));
    const compat: unknown[] = [];
    t.ws.addEventListener('message', (e) => compat.push(e.data));
    const nm = (offset: number, replay = false) => ({ type: 'NEW_MESSAGE', stream: 'session:s1', epoch: 'e', offset, from: null, id: `m${offset}`, data: `d${offset}`, ts: 1, ...(replay ? { replay: true } : {}) });
    socket.receive(nm(1));
    socket.receive(nm(2));
    socket.receive(nm(2, true));
    socket.receive(nm(4));
    expect(socket.framesOf('RESYNC')).toEqual([{ type: 'RESYNC', stream: 'session:s1', epoch: 'e', from: 3 }]);
    socket.receive(nm(3, true));
    expect(got).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, false],
    ]);
    expect(compat).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(socket.framesOf('POSITION_ACK')).toHaveLength(0);
    await t.clock.advance(250);
    expect(socket.framesOf('POSITION_ACK')).toEqual([{ type: 'POSITION_ACK', positions: { 'session:s1': { epoch: 'e', offset: 4 } } }]);
  });

  it('an ack at ackEvery leaves the ackInterval timer armed: later messages are acked by it, no timer per batch', async () => {
    const t = setup({ ackInterval: 250, ackEvery: 2 });
    const socket = await handshake(t);
    const nm = (offset: number) => ({ type: 'NEW_MESSAGE', stream: 'session:s1', epoch: 'e', offset, from: null, id: `m${offset}`, data: offset, ts: 1 });
    const timers = t.clock.pending().length;
    socket.receive(nm(1));
    expect(t.clock.pending()).toHaveLength(timers + 1);
    socket.receive(nm(2));
    socket.receive(nm(3));
    await t.clock.advance(100);
    socket.receive(nm(4));
    socket.receive(nm(5));
    expect(t.clock.pending()).toHaveLength(timers + 1); // the same ack timer, armed at message 1
    const offsets = () => socket.framesOf('POSITION_ACK').map((f) => (f as { positions: Record<string, { offset: number }> }).positions['session:s1']!.offset);
    expect(offsets()).toEqual([2, 4]);
    await t.clock.advance(150); // 250 ms after the first message
    expect(offsets()).toEqual([2, 4, 5]);
    await t.clock.advance(1000);
    expect(offsets()).toEqual([2, 4, 5]);
  });

  it('WebSocket-style message handlers get protocol messages whenever they are set or added', async () => {
    const t = setup();
    const socket = await handshake(t);
    const nm = (offset: number) => ({ type: 'NEW_MESSAGE', stream: 'session:s1', epoch: 'e', offset, from: null, id: `m${offset}`, data: `d${offset}`, ts: 1 });
    const seen: string[] = [];
    socket.receive(nm(1)); // nobody listens yet
    t.ws.onmessage = (e) => seen.push(`on:${String(e.data)}:${e.type}:${e.target === t.ws}`);
    socket.receive(nm(2));
    const listener = { handleEvent: (e: Record<string, unknown>) => void seen.push(`obj:${String(e.data)}`) };
    t.ws.addEventListener('message', listener);
    socket.receive(nm(3));
    t.ws.onmessage = null;
    t.ws.removeEventListener('message', listener);
    socket.receive(nm(4));
    t.ws.addEventListener('message', (e) => seen.push(`fn:${String(e.data)}`));
    socket.receive(nm(5));
    expect(seen).toEqual(['on:d2:message:true', 'on:d3:message:true', 'obj:d3', 'fn:d5']);
  });

  it('a new instance on the same storage reports and sends what the old one left', async () => {
    const storage = new MemoryStorage();
    const t1 = setup({ storage });
    await handshake(t1);
    void t1.ws.send('left behind');
    await settle();
    // The "page" goes away without close().
    t1.fake.last().drop(1006);
    open.splice(open.indexOf(t1.ws), 1);
    t1.ws.removeAllListeners();
    const t2 = setup({ storage });
    const restored: unknown[] = [];
    const sent: unknown[] = [];
    t2.ws.on('restored', (items) => restored.push(...items.map((i) => i.data)));
    t2.ws.on('sent', (i) => sent.push([i.data, i.restored]));
    const socket = await handshake(t2, stateRecovered('s1', 'tok-2', 0));
    expect(restored).toEqual(['left behind']);
    expect(socket.framesOf('RECONNECT')[0]).toMatchObject({ sessionId: 's1' });
    expect(socket.framesOf('MESSAGE').map((f) => [f.seq, f.data])).toEqual([[1, 'left behind']]);
    socket.receive({ type: 'ACK', seq: 1 });
    expect(sent).toEqual([['left behind', true]]);
  });

  it('close({ endSession: false }) keeps the session and never overwrites the next instance\'s record', async () => {
    const storage = new MemoryStorage();
    const t1 = setup({ storage });
    const s1 = await handshake(t1);
    const acked = t1.ws.send('a');
    const kept = t1.ws.send('b');
    await settle();
    s1.receive({ type: 'ACK', seq: 1 }); // its persistence is lazy (ackInterval)
    await acked;
    t1.ws.close(1000, '', { endSession: false });
    await expect(kept).rejects.toMatchObject({ code: 'ERR_CLOSED', details: { kept: true } });
    await settle();
    expect(s1.framesOf('BYE')).toEqual([]);
    const t2 = setup({ storage });
    const s2 = await handshake(t2, stateRecovered('s1', 'tok-rotated', 1));
    expect(s2.framesOf('MESSAGE').map((f) => [f.seq, f.data])).toEqual([[2, 'b']]);
    await t1.clock.advance(10_000);
    await settle();
    const key = storage.keys().find((k) => k.endsWith(':session'))!;
    expect((storage.get(key) as { session: { token: string } }).session.token).toBe('tok-rotated');
  });

  it('keeps working in memory when storage fails, and says so', async () => {
    const broken = { get: () => undefined, set: () => Promise.reject(new Error('QuotaExceededError')), delete: () => undefined };
    const t = setup({ storage: broken as unknown as MemoryStorage });
    const failures: unknown[] = [];
    t.ws.on('storagefailed', (e) => failures.push(e.code));
    const socket = await handshake(t);
    const p = t.ws.send('still works');
    await settle();
    socket.receive({ type: 'ACK', seq: 1 });
    await expect(p).resolves.toBeDefined();
    expect(failures).toEqual(['ERR_STORAGE_FAILED']);
  });

  it('a storage that hangs counts as failed after storageTimeout: the client goes on in memory', async () => {
    const hanging = { get: () => undefined, set: () => new Promise<void>(() => undefined), delete: () => undefined };
    const t = setup({ storage: hanging as unknown as MemoryStorage, storageTimeout: 2000 });
    const failures: unknown[] = [];
    t.ws.on('storagefailed', (e) => failures.push(e.code));
    const socket = await handshake(t);
    const p = t.ws.send('eventually');
    await settle();
    expect(socket.framesOf('MESSAGE')).toHaveLength(0); // waiting for the write
    await t.clock.advance(2000);
    expect(failures).toEqual(['ERR_STORAGE_FAILED']);
    expect(socket.framesOf('MESSAGE')).toHaveLength(1);
    socket.receive({ type: 'ACK', seq: 1 });
    await expect(p).resolves.toBeDefined();
  });

  it('rejects a send with the error code of a refusing ACK', async () => {
    const t = setup();
    const socket = await handshake(t);
    const p = t.ws.send('x', { room: 'nope' });
    await settle();
    socket.receive({ type: 'ACK', seq: 1, error: { code: 'ERR_NOT_IN_ROOM', message: 'join first' } });
    await expect(p).rejects.toMatchObject({ code: 'ERR_NOT_IN_ROOM' });
  });

  it('validates options with precise messages', () => {
    expect(() => new ReconnectingWebSocket('ws://x', { maxReconnectDelay: -1 })).toThrow(/options.maxReconnectDelay must be/);
    expect(() => new ReconnectingWebSocket('ws://x', { mode: 'nope' as never })).toThrow(/options.mode/);
    expect(() => new ReconnectingWebSocket('ws://x', { initialReconnectDelay: 5000, maxReconnectDelay: 1000 })).toThrow(/must be >=/);
  });
});
