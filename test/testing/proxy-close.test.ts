/**
 * `FaultProxy.close()` must resolve, and every connection's `closed` with it, whatever state the
 * connection's sockets are in. Node never emits 'close' for a socket reset while its FIN is still
 * being sent (the reset fails with EINVAL, yet the socket counts as destroyed), so a connection
 * that counted on two 'close' events could stay `closing` for ever.
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFaultProxy } from '../../src/testing/index.js';
import type { CloseReason, FaultProxy, ProxyConnection } from '../../src/testing/index.js';
import { Teardown, until } from './harness.js';

let teardown: Teardown;
beforeEach(() => {
  teardown = new Teardown();
});
afterEach(() => teardown.run());

/** Bound on anything that used to hang, so a regression fails the test instead of the run. */
const LIMIT_MS = 5000;

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${LIMIT_MS} ms`)), LIMIT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** A TCP target that accepts, never reads, never ends: only a reset or close() ends its sockets. */
async function startSilentTarget(): Promise<{ port: number; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const target = { port: (server.address() as AddressInfo).port, server, sockets };
  teardown.add(() => killTarget(target));
  return target;
}

function killTarget(target: { server: Server; sockets: Socket[] }): Promise<void> {
  for (const s of target.sockets) s.destroy();
  return new Promise<void>((resolve) => target.server.close(() => resolve()));
}

async function proxyFor(port: number): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port } });
  // Bounded even here: a hanging close() must not hang the teardown of later tests too.
  teardown.add(() => within(proxy.close(), 'teardown close()').catch(() => {}));
  return proxy;
}

/** A raw client through the proxy; resolves with the proxy's connection once it is open. */
async function openThrough(proxy: FaultProxy): Promise<{ socket: Socket; conn: ProxyConnection }> {
  const socket = connect({ host: '127.0.0.1', port: proxy.port, allowHalfOpen: true });
  socket.on('error', () => {});
  teardown.add(() => socket.destroy());
  const conn = await new Promise<ProxyConnection>((resolve) => proxy.once('connection', resolve));
  await until(() => conn.state === 'open', 'the connection to open');
  return { socket, conn };
}

describe('FaultProxy.close() always resolves', () => {
  it('after a FIN cut followed by an RST cut in the same turn', async () => {
    const target = await startSilentTarget();
    const proxy = await proxyFor(target.port);
    const { conn } = await openThrough(proxy);
    conn.cut({ mode: 'fin' });
    conn.cut({ mode: 'rst' });
    expect(await within(conn.closed, 'closed')).toBe<CloseReason>('fin');
    await within(proxy.close(), 'close()');
    expect(proxy.connections()).toEqual([]);
  });

  it('after a FIN cut, with the target killed before close()', async () => {
    const target = await startSilentTarget();
    const proxy = await proxyFor(target.port);
    const opened = await Promise.all([openThrough(proxy), openThrough(proxy), openThrough(proxy)]);
    proxy.stall();
    proxy.cut({ mode: 'fin' });
    await killTarget(target);
    await within(proxy.close(), 'close()');
    for (const { conn } of opened) expect(conn.state).toBe('closed');
    expect(proxy.stats.active).toBe(0);
  });

  it('finishes half-open connections left by clients that sent FIN then RST', async () => {
    const target = await startSilentTarget();
    const proxy = await proxyFor(target.port);
    const opened = await Promise.all(Array.from({ length: 8 }, () => openThrough(proxy)));
    for (const { socket } of opened) {
      socket.end();
      // A loop turn later, so the FIN reaches the proxy and is passed on while the reset follows.
      setImmediate(() => socket.resetAndDestroy());
    }
    await until(() => opened.every(({ socket }) => socket.destroyed), 'the clients to reset');
    await within(proxy.close(), 'close()');
    await within(Promise.all(opened.map(({ conn }) => conn.closed)), 'every closed');
    expect(proxy.stats.active).toBe(0);
  });

  it('when a socket was destroyed without ever emitting close (finished on a later tick)', async () => {
    const target = await startSilentTarget();
    const proxy = await proxyFor(target.port);
    const { conn } = await openThrough(proxy);
    // Reproduce Node's missing 'close' directly: reset a socket whose FIN is still pending.
    const inner = conn as unknown as { client: Socket; upstream: Socket };
    inner.client.end();
    inner.client.resetAndDestroy();
    expect(inner.client.destroyed).toBe(true);
    await within(proxy.close(), 'close()');
    expect(conn.state).toBe('closed');
    // The failed reset surfaces as a socket error, which the connection reports as a reset.
    expect(await conn.closed).toBe<CloseReason>('rst');
    expect(proxy.pendingTimers).toBe(0);
  });
});
