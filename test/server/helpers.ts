/**
 * Test helpers: a raw `ws` client that speaks frames, and teardown of everything a test starts.
 */
import WebSocket from 'ws';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import type { ClientFrame, ServerFrame, ServerFrameType, StreamGap } from '../../src/protocol/index.js';
import { createServer } from '../../src/server/index.js';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';
import type { WebSocketConstructor } from '../../src/client/web-socket-like.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { ReferenceServer, ServerOptions } from '../../src/server/index.js';

type FrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

/** A frame-speaking client over a raw WebSocket. */
export class TestClient {
  readonly ws: WebSocket;
  /** Frames received and not yet taken by `next`. */
  readonly inbox: ServerFrame[] = [];
  /** Every frame received, in order. */
  readonly received: ServerFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private seq = 0;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = JSON.parse(String(data)) as ServerFrame;
      this.inbox.push(frame);
      this.received.push(frame);
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.wake();
    }));
  }

  /** Open a connection (offering the subprotocol unless `protocols` says otherwise). */
  static async open(url: string, options: { protocols?: string[]; autoPong?: boolean; origin?: string } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options.protocols ?? [SUBPROTOCOL], { autoPong: options.autoPong ?? true, ...(options.origin ? { origin: options.origin } : {}) });
    const client = new TestClient(ws);
    track(client);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Send a frame (or raw text / binary). */
  send(frame: ClientFrame | string | Buffer | Record<string, unknown>): void {
    if (typeof frame === 'string' || Buffer.isBuffer(frame)) this.ws.send(frame);
    else this.ws.send(JSON.stringify(frame));
  }

  /** The next sequence number for this client's operations. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** Reset the seq counter (after a NEW_SESSION) or set it (after a resume). */
  setSeq(value: number): void {
    this.seq = value;
  }

  /** Take the first frame of `type` received (now or within `timeoutMs`). */
  async next<T extends ServerFrameType>(type: T, timeoutMs = 5000): Promise<FrameOf<T>> {
    return this.take((f): f is FrameOf<T> => f.type === type, `a ${type} frame`, timeoutMs);
  }

  /** Take the first frame matching `predicate`. */
  async take<F extends ServerFrame>(predicate: (f: ServerFrame) => f is F, what: string, timeoutMs = 5000): Promise<F> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(predicate);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as F;
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`timed out waiting for ${what}; inbox: ${JSON.stringify(this.inbox.map((f) => f.type))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Take `count` NEW_MESSAGE frames of `stream`, in arrival order. */
  async messages(stream: string, count: number, timeoutMs = 5000): Promise<Array<FrameOf<'NEW_MESSAGE'>>> {
    const out: Array<FrameOf<'NEW_MESSAGE'>> = [];
    while (out.length < count) {
      out.push(await this.take((f): f is FrameOf<'NEW_MESSAGE'> => f.type === 'NEW_MESSAGE' && f.stream === stream, `message ${out.length + 1} of ${count} on ${stream}`, timeoutMs));
    }
    return out;
  }

  /** Send `HELLO` and return `NEW_SESSION`; `state` (e.g. `{}`) asks for synced state, as the state client does. */
  async hello(rooms?: string[], auth?: unknown, state?: Record<string, number>): Promise<FrameOf<'NEW_SESSION'>> {
    this.send({ type: 'HELLO', v: 1, ...(rooms ? { rooms } : {}), ...(auth !== undefined ? { auth } : {}), ...(state ? { state } : {}) });
    this.seq = 0;
    return this.next('NEW_SESSION');
  }

  /** Close the socket. */
  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

const clients = new Set<TestClient>();
const servers = new Set<ReferenceServer>();

function track(client: TestClient): void {
  clients.add(client);
}

/** Start a server on port 0 (127.0.0.1), closed by `teardown`. */
export async function startServer(options: ServerOptions = {}): Promise<ReferenceServer> {
  const server = await createServer({ port: 0, host: '127.0.0.1', ...options });
  servers.add(server);
  return server;
}

const realClients = new Set<ReconnectingWebSocket>();

/**
 * A real `ReconnectingWebSocket` (Node `ws`, memory storage) closed by `teardown`. Its error
 * events are expected in these tests (cuts, refused connects) and swallowed.
 */
export function realClient(url: string | (() => string), options: ReconnectingWebSocketOptions = {}): ReconnectingWebSocket {
  const client = new ReconnectingWebSocket(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, storage: new MemoryStorage(), ...options });
  realClients.add(client);
  client.on('error', () => {});
  return client;
}

/** Close every client and server the test started. */
export async function teardown(): Promise<void> {
  for (const client of realClients) client.close();
  realClients.clear();
  for (const client of clients) {
    if (client.ws.readyState !== WebSocket.CLOSED) client.ws.terminate();
  }
  clients.clear();
  await Promise.all([...servers].map((s) => s.close()));
  servers.clear();
}

/** Wait until `condition` holds, polling (bounded by `timeoutMs`). */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Connect, say HELLO, return the client and its NEW_SESSION. */
export async function connectNew(server: ReferenceServer, rooms?: string[]): Promise<{ client: TestClient; session: FrameOf<'NEW_SESSION'> }> {
  const client = await TestClient.open(server.url);
  const session = await client.hello(rooms);
  return { client, session };
}

/**
 * What `client` receives in `room`, in order (the `data` of each message), and the gaps it is
 * told of: the recorder several recovery tests share.
 */
export function roomLog<T = unknown>(client: Pick<ReconnectingWebSocket, 'on'>, room: string): { got: T[]; gaps: StreamGap[] } {
  const log = { got: [] as T[], gaps: [] as StreamGap[] };
  client.on('message', (m) => {
    if (m.room === room) log.got.push(m.data as T);
  });
  client.on('gap', (g) => log.gaps.push(g));
  return log;
}
