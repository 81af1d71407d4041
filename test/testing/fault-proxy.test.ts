import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFaultProxy } from '../../src/testing/index.js';
import type { FaultEvent, FaultProxy } from '../../src/testing/index.js';
import { ResilientSocketError } from '../../src/protocol/index.js';
import { Teardown, connectClient, payloads, sha256, sleep, startEchoServer, startTcpEcho, until } from './harness.js';
import type { EchoServer } from './harness.js';

let teardown: Teardown;
beforeEach(() => {
  teardown = new Teardown();
});
afterEach(() => teardown.run());

async function proxyFor(port: number): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port } });
  teardown.add(() => proxy.close());
  return proxy;
}

async function echoBehindProxy(): Promise<{ server: EchoServer; proxy: FaultProxy }> {
  const server = await startEchoServer(teardown);
  return { server, proxy: await proxyFor(server.port) };
}

/** Sends each payload and waits for all echoes; returns the hashes in arrival order. */
async function roundTrip(url: string, sent: Buffer[]): Promise<string[]> {
  const client = await connectClient(url, teardown);
  for (const p of sent) client.ws.send(p);
  await until(() => client.messages.length === sent.length, 'all echoes');
  return client.messages.map(sha256);
}

describe('FaultProxy: forwarding', () => {
  it('passes large random WebSocket payloads unchanged and in order in both directions', async () => {
    const { server, proxy } = await echoBehindProxy();
    const sent = payloads([0, 1, 125, 126, 65_535, 65_536, 70_000, 1_048_576, 3_000_000, 17]);
    const echoed = await roundTrip(proxy.url('ws'), sent);
    expect(server.received.map(sha256)).toEqual(sent.map(sha256));
    expect(echoed).toEqual(sent.map(sha256));
    const total = sent.reduce((n, p) => n + p.length, 0);
    expect(proxy.stats.bytesToServer).toBeGreaterThan(total);
    expect(proxy.stats.bytesToClient).toBeGreaterThan(total);
  });

  it('keeps a raw TCP byte stream intact when written in random chunks', async () => {
    const echo = await startTcpEcho(teardown);
    const proxy = await proxyFor(echo.port);
    const data = randomBytes(2_000_000);
    const received = await tcpRoundTrip(proxy.port, data);
    expect(sha256(received)).toBe(sha256(data));
  });

  it('lists connections with ids, bytes and age, and reports opens and closes', async () => {
    const { proxy } = await echoBehindProxy();
    const opened: number[] = [];
    const closed: Array<[number, string]> = [];
    proxy.on('connection', (c) => opened.push(c.id));
    proxy.on('connectionClose', (c, reason) => closed.push([c.id, reason]));
    const a = await connectClient(proxy.url(), teardown);
    const b = await connectClient(proxy.url(), teardown);
    a.ws.send('hello');
    await until(() => a.messages.length === 1, 'echo');
    const list = proxy.connections();
    expect(list.map((c) => c.id)).toEqual([1, 2]);
    expect(opened).toEqual([1, 2]);
    expect(list[0]!.state).toBe('open');
    expect(list[0]!.bytesToServer).toBeGreaterThan(list[1]!.bytesToServer);
    expect(list[0]!.ageMs).toBeGreaterThanOrEqual(0);
    b.ws.close(1000);
    await b.closed;
    await until(() => closed.length === 1, 'connectionClose');
    expect(closed).toEqual([[2, 'normal']]);
    expect(proxy.connections().map((c) => c.id)).toEqual([1]);
    expect(proxy.stats).toMatchObject({ accepted: 2, active: 1, refused: 0 });
  });
});

/** Writes `data` to the proxy in random-sized chunks and collects the echo until all is back. */
async function tcpRoundTrip(port: number, data: Buffer): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  teardown.add(() => socket.destroy());
  const chunks: Buffer[] = [];
  let got = 0;
  socket.on('data', (b: Buffer) => {
    chunks.push(b);
    got += b.length;
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(Math.random() * 100_000);
    socket.write(data.subarray(i, i + n));
    i += n;
  }
  await until(() => got >= data.length, 'echoed bytes', 20_000);
  return Buffer.concat(chunks);
}

describe('FaultProxy: cuts', () => {
  it('an RST cut closes the client abnormally (1006) with ECONNRESET', async () => {
    const { server, proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    const faults: FaultEvent[] = [];
    proxy.on('fault', (f) => faults.push(f));
    proxy.cut({ mode: 'rst' });
    expect(await client.closed).toBe(1006);
    expect(client.socketError?.code).toBe('ECONNRESET');
    await until(() => server.closes.length === 1, 'server close');
    expect(server.closes).toEqual([1006]);
    expect(faults).toEqual([{ kind: 'rst', connectionId: 1 }]);
    expect(proxy.stats.faults.rst).toBe(1);
  });

  it('a FIN cut closes the client abnormally (1006) with an orderly end and no socket error', async () => {
    const { server, proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    const conn = proxy.connection(1)!;
    conn.cut({ mode: 'fin' });
    expect(await client.closed).toBe(1006);
    expect(client.socketEnded).toBe(true);
    expect(client.socketError).toBeUndefined();
    expect(await conn.closed).toBe('fin');
    await until(() => server.closes.length === 1, 'server close');
    expect(server.closes).toEqual([1006]);
  });

  it('cuts one connection and leaves the others untouched', async () => {
    const { proxy } = await echoBehindProxy();
    const a = await connectClient(proxy.url(), teardown);
    const b = await connectClient(proxy.url(), teardown);
    proxy.connection(1)!.cut();
    expect(await a.closed).toBe(1006);
    b.ws.send('still here');
    await until(() => b.messages.length === 1, 'echo on the other connection');
    expect(b.messages[0]!.toString()).toBe('still here');
  });

  it('refuse(true) resets new connections at accept, keeps open ones, and refuse(false) accepts again', async () => {
    const { proxy } = await echoBehindProxy();
    const open = await connectClient(proxy.url(), teardown);
    proxy.refuse(true);
    await expect(connectClient(proxy.url(), teardown)).rejects.toThrow(/closed before open/);
    expect(proxy.stats.refused).toBe(1);
    open.ws.send('x');
    await until(() => open.messages.length === 1, 'echo on the open connection');
    proxy.refuse(false);
    const again = await connectClient(proxy.url(), teardown);
    expect(again.ws.readyState).toBe(again.ws.OPEN);
  });
});

describe('FaultProxy: cut in the middle of a frame', () => {
  it('truncates the next server → client frame: the client gets no message and closes abnormally', async () => {
    const { server, proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    const conn = proxy.connection(1)!;
    const cut = conn.cutMidFrame();
    const big = randomBytes(200_000);
    client.ws.send(big);
    expect(await cut).toBe(true);
    expect(await client.closed).toBe(1006);
    expect(client.messages).toEqual([]);
    // The whole frame reached the server, only part of the echo reached the client.
    expect(server.received.map(sha256)).toEqual([sha256(big)]);
    const delivered = conn.info().bytesToClient;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(conn.info().bytesFromServer);
    expect(await conn.closed).toBe('midFrame');
    expect(proxy.stats.faults.midFrame).toBe(1);
  });

  it('truncates a client → server frame after frames that went through whole', async () => {
    const { server, proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    client.ws.send('first');
    await until(() => client.messages.length === 1, 'first echo');
    const cut = proxy.cutMidFrame({ direction: 'toServer', mode: 'rst' });
    client.ws.send(randomBytes(10));
    expect(await cut).toBe(1);
    expect(await client.closed).toBe(1006);
    await until(() => server.closes.length === 1, 'server close');
    expect(server.received.map((b) => b.toString())).toEqual(['first']);
    expect(server.closes).toEqual([1006]);
  });

  it('resolves false when the connection closes before a frame passes', async () => {
    const { proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    const cut = proxy.connection(1)!.cutMidFrame();
    client.ws.close(1000);
    // The close handshake frames are frames too: either the close frame itself is cut, or none is.
    await client.closed;
    expect(typeof (await cut)).toBe('boolean');
  });
});

describe('FaultProxy: stall, latency, throttle', () => {
  it('stall holds every byte while both sockets stay open; resume delivers all of it in order', async () => {
    const { server, proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    client.ws.send('before');
    await until(() => client.messages.length === 1, 'first echo');
    proxy.stall();
    const before = proxy.connections()[0]!;
    const sent = payloads([10, 70_000, 5, 300_000]);
    for (const p of sent) client.ws.send(p);
    // Nothing may move while stalled: give the bytes ample chance to leak through.
    await sleep(300);
    const during = proxy.connections()[0]!;
    expect(during.bytesToServer).toBe(before.bytesToServer);
    expect(during.stalled).toEqual({ toServer: true, toClient: true });
    expect(server.received).toHaveLength(1);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(server.sockets[0]!.readyState).toBe(server.sockets[0]!.OPEN);
    proxy.resume();
    await until(() => client.messages.length === 1 + sent.length, 'echoes after resume');
    expect(client.messages.slice(1).map(sha256)).toEqual(sent.map(sha256));
    expect(server.received.slice(1).map(sha256)).toEqual(sent.map(sha256));
  });

  it('a new connection made while stalled stays stalled until resume', async () => {
    const { proxy } = await echoBehindProxy();
    proxy.stall();
    const ws = connectClient(proxy.url(), teardown);
    await until(() => proxy.connections().length === 1, 'accepted connection');
    await sleep(100);
    expect(proxy.connections()[0]!.bytesToServer).toBe(0);
    proxy.resume();
    const client = await ws;
    client.ws.send('now');
    await until(() => client.messages.length === 1, 'echo');
  });

  it('latency with jitter delays but never reorders messages', async () => {
    const { proxy } = await echoBehindProxy();
    proxy.latency({ ms: 5, jitter: 20 });
    const client = await connectClient(proxy.url(), teardown);
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    for (const m of sent) client.ws.send(m);
    await until(() => client.messages.length === sent.length, 'all echoes');
    expect(client.messages.map((b) => b.toString())).toEqual(sent);
    expect(proxy.stats.faults.latency).toBe(0); // set before the connection: a default, not a fault on it
  });

  it('throttling keeps large payloads intact', async () => {
    const { proxy } = await echoBehindProxy();
    const client = await connectClient(proxy.url(), teardown);
    proxy.throttle({ bytesPerSecond: 2_000_000 });
    const sent = payloads([100_000, 1, 250_000]);
    for (const p of sent) client.ws.send(p);
    await until(() => client.messages.length === sent.length, 'throttled echoes', 15_000);
    expect(client.messages.map(sha256)).toEqual(sent.map(sha256));
    proxy.throttle(null);
  });
});

describe('FaultProxy: options and cleanup', () => {
  it('refuses non-loopback targets and bad options with ERR_INVALID_OPTION', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ target: { host: '10.0.0.1', port: 80 } }, /options\.target\.host must be a loopback address/],
      [{ target: { host: 'example.com', port: 80 } }, /loopback/],
      [{ target: { host: '127.0.0.1', port: 0 } }, /options\.target\.port must be an integer from 1 to 65535/],
      [{ target: { host: '127.0.0.1', port: 80 }, listen: { host: '0.0.0.0' } }, /options\.listen\.host must be a loopback/],
      [{ target: { host: '127.0.0.1', port: 80 }, highWaterMark: 0 }, /options\.highWaterMark must be a positive integer/],
      [{ target: null }, /options\.target must be an object/],
    ];
    for (const [options, message] of bad) {
      const err = await createFaultProxy(options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResilientSocketError);
      expect((err as ResilientSocketError).code).toBe('ERR_INVALID_OPTION');
      expect((err as Error).message).toMatch(message);
    }
  });

  it('accepts a non-loopback target only with allowNonLoopback', async () => {
    const proxy = await createFaultProxy({ target: { host: '192.0.2.1', port: 9 }, allowNonLoopback: true });
    await proxy.close();
  });

  it('setTarget() sends new connections to another server and leaves open ones where they are', async () => {
    const first = await startEchoServer(teardown);
    const second = await startEchoServer(teardown);
    const proxy = await proxyFor(first.port);
    const a = await connectClient(proxy.url(), teardown);
    expect(() => proxy.setTarget({ host: '10.1.2.3', port: second.port })).toThrow(/target\.host must be a loopback address/);
    proxy.setTarget({ host: '127.0.0.1', port: second.port });
    expect(proxy.targetAddress).toEqual({ host: '127.0.0.1', port: second.port });
    const b = await connectClient(proxy.url(), teardown);
    a.ws.send('to first');
    b.ws.send('to second');
    await until(() => a.messages.length === 1 && b.messages.length === 1, 'both echoes');
    expect(first.received.map(String)).toEqual(['to first']);
    expect(second.received.map(String)).toEqual(['to second']);
  });

  it('resets the client when the target refuses the connection', async () => {
    const echo = await startTcpEcho(teardown);
    const port = echo.port;
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
    const proxy = await proxyFor(port);
    const reasons: string[] = [];
    proxy.on('connectionClose', (_c, reason) => reasons.push(reason));
    const code = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: proxy.port });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('close', () => resolve('closed'));
    });
    expect(code).toBe('ECONNRESET');
    await until(() => reasons.length === 1, 'connectionClose');
    expect(reasons).toEqual(['error']);
  });

  it('validates fault options', async () => {
    const { proxy } = await echoBehindProxy();
    expect(() => proxy.latency({ ms: -1 })).toThrow(/latency options\.ms must be a finite number >= 0/);
    expect(() => proxy.throttle({ bytesPerSecond: 0 })).toThrow(/bytesPerSecond must be a finite number > 0/);
    expect(() => proxy.cut({ mode: 'boom' as never })).toThrow(/cut options\.mode must be one of 'rst', 'fin'/);
    expect(() => proxy.stall({ direction: 'up' as never })).toThrow(/direction must be one of/);
    expect(() => proxy.chaos({ rate: 0 })).toThrow(/chaos options\.rate must be a finite number > 0/);
    expect(() => proxy.chaos({ rate: 1, kinds: ['nope' as never] })).toThrow(/kinds\[\] must be one of/);
  });

  it('close() destroys every socket, clears every timer and stops listening', async () => {
    const { server, proxy } = await echoBehindProxy();
    const a = await connectClient(proxy.url(), teardown);
    const b = await connectClient(proxy.url(), teardown);
    proxy.latency({ ms: 60_000 });
    a.ws.send(randomBytes(1000));
    await until(() => proxy.pendingTimers > 0, 'a latency timer');
    const port = proxy.port;
    await proxy.close();
    expect(proxy.pendingTimers).toBe(0);
    expect(proxy.connections()).toEqual([]);
    expect(await a.closed).toBe(1006);
    expect(await b.closed).toBe(1006);
    await until(() => server.closes.length === 2, 'server closes');
    const refused = await new Promise<string>((resolve) => {
      const s: Socket = connect({ host: '127.0.0.1', port });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');
    await proxy.close(); // idempotent
  });
});
