/**
 * Helpers for integration tests against the real reference server on an ephemeral port:
 * everything a test starts is registered and torn down by `teardownAll`.
 */
import { createServer } from '../../src/server/index.js';
import type { ReferenceServer, ServerOptions } from '../../src/server/index.js';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';
import type { ReceivedMessage } from '../../src/client/events.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const servers = new Set<ReferenceServer>();
const clients = new Set<ReconnectingWebSocket>();
const cleanups: Array<() => unknown> = [];

/** A reference server on 127.0.0.1, port 0. */
export async function startServer(options: ServerOptions = {}): Promise<ReferenceServer> {
  const server = await createServer({ port: 0, host: '127.0.0.1', ...options });
  servers.add(server);
  return server;
}

/**
 * A client with fast, deterministic-enough backoff for tests; records what it receives.
 * `Client`: the core `ReconnectingWebSocket` by default, or the synced-state subclass.
 */
export function connect(url: string | (() => string), options: ReconnectingWebSocketOptions = {}, Client: typeof ReconnectingWebSocket = ReconnectingWebSocket): TestSocket {
  const ws = new Client(url, { storage: new MemoryStorage(), initialReconnectDelay: 20, maxReconnectDelay: 200, environment: {}, ...options });
  clients.add(ws);
  return new TestSocket(ws);
}

/** Forget a client without closing it (it was "crashed" or suspended by the test itself). */
export function forget(ws: ReconnectingWebSocket): void {
  clients.delete(ws);
}

/** Register extra cleanup. */
export function onTeardown(fn: () => unknown): void {
  cleanups.push(fn);
}

export async function teardownAll(): Promise<void> {
  for (const ws of clients) ws.close(1000, '', { endSession: false });
  clients.clear();
  await Promise.all([...servers].map((s) => s.close()));
  servers.clear();
  for (const fn of cleanups.splice(0)) await fn();
}

/** Poll `predicate` until true (bounded). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A client plus what it saw. */
export class TestSocket {
  readonly messages: ReceivedMessage[] = [];
  readonly errors: string[] = [];
  readonly opens: Array<{ recovered: boolean; reason?: string }> = [];

  constructor(readonly ws: ReconnectingWebSocket) {
    ws.on('message', (m) => this.messages.push(m));
    ws.on('error', (e) => this.errors.push(e.code));
    ws.on('open', (o) => this.opens.push(o.reason === undefined ? { recovered: o.recovered } : { recovered: o.recovered, reason: o.reason }));
  }

  /** Resolves at the next `open`. */
  opened(): Promise<void> {
    return new Promise((resolve) => this.ws.once('open', () => resolve()));
  }

  /** Ids of received messages of a room. */
  ids(room?: string): string[] {
    return this.messages.filter((m) => room === undefined || m.room === room).map((m) => m.id!);
  }
}
