/**
 * Real sockets for the proxy tests: a `ws` echo server on port 0, a raw TCP echo server, `ws`
 * clients that record what happens to them, and a manual clock. Everything started here is
 * registered with a `Teardown` so each test closes what it opened.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { ProxyClock } from '../../src/testing/index.js';
import { mulberry32 } from '../chaos/seeded-random.js';

/** Runs registered cleanups in reverse order. */
export class Teardown {
  private readonly steps: Array<() => unknown> = [];
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    while (this.steps.length > 0) await this.steps.pop()!();
  }
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Deterministic random source (mulberry32) for reproducible payloads and chaos runs. */
export const seeded = mulberry32;

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `limitMs` with `what`. */
export async function until(predicate: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A `ws` server on 127.0.0.1:0 that echoes every message and records what it received. */
export interface EchoServer {
  port: number;
  wss: WebSocketServer;
  received: Buffer[];
  closes: number[];
  /** Server-side sockets, in connection order. */
  sockets: WebSocket[];
}

export async function startEchoServer(teardown: Teardown): Promise<EchoServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const server: EchoServer = { port: (wss.address() as AddressInfo).port, wss, received: [], closes: [], sockets: [] };
  wss.on('connection', (ws) => {
    server.sockets.push(ws);
    ws.on('error', () => {});
    ws.on('close', (code) => server.closes.push(code));
    ws.on('message', (data: RawData, isBinary) => {
      const buf = data as Buffer;
      server.received.push(buf);
      ws.send(buf, { binary: isBinary });
    });
  });
  teardown.add(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return server;
}

/** A `ws` client that records messages, its close code and its socket's error / end. */
export interface RecordingClient {
  ws: WebSocket;
  messages: Buffer[];
  close: { code: number } | undefined;
  socketError: NodeJS.ErrnoException | undefined;
  socketEnded: boolean;
  closed: Promise<number>;
}

export async function connectClient(url: string, teardown: Teardown): Promise<RecordingClient> {
  const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
  const client: RecordingClient = { ws, messages: [], close: undefined, socketError: undefined, socketEnded: false, closed: Promise.resolve(0) };
  client.closed = new Promise<number>((resolve) =>
    ws.on('close', (code) => {
      client.close = { code };
      resolve(code);
    }),
  );
  ws.on('error', () => {});
  // `ws` swallows socket errors into a 1006 close; the upgrade response exposes the socket, so
  // the test can tell an RST (ECONNRESET) from a FIN (end).
  ws.on('upgrade', (res) => {
    const socket = res.socket as Socket;
    socket.on('error', (err: NodeJS.ErrnoException) => (client.socketError ??= err));
    socket.on('end', () => (client.socketEnded = true));
  });
  ws.on('message', (data: RawData) => client.messages.push(data as Buffer));
  teardown.add(() => {
    ws.terminate();
    return client.closed;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('client closed before open')));
  });
  return client;
}

/** A raw TCP server on 127.0.0.1:0 that echoes bytes back. */
export async function startTcpEcho(teardown: Teardown): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  teardown.add(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, server };
}

/** Random payloads of sizes drawn from `sizes`, deterministic for a seed. */
export function payloads(sizes: number[]): Buffer[] {
  return sizes.map((n) => randomBytes(n));
}

/** A clock the test advances by hand; timers fire in due order. */
export class ManualClock implements ProxyClock {
  private time = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Timers scheduled and not fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }
  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = end;
  }
}
