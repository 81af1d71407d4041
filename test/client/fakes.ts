/**
 * Test doubles for unit tests of the client: a scriptable WebSocket and a manual clock.
 * Integration tests use the real server and real sockets instead.
 */
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import type { ClientFrame } from '../../src/protocol/index.js';
import type { Timers } from '../../src/client/timers.js';
import type { WebSocketConstructor, WebSocketLike } from '../../src/client/web-socket-like.js';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';

/** A manual clock implementing the injectable timers. */
export class FakeClock implements Timers {
  now = 1_000_000;
  #next = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  /** Pending timers' delays from now, in creation order. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.now);
  }

  /** Move time forward, firing due timers in order (and microtasks between them). */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

/** Let promise chains and microtasks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A scripted WebSocket: the test opens, feeds and drops it. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  protocol = '';
  extensions = '';
  bufferedAmount = 0;
  binaryType = 'blob';
  readonly sent: unknown[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: { message?: string; error?: unknown }) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.closedWith = { code, reason };
    this.readyState = 2;
    queueMicrotask(() => this.drop(code ?? 1005, reason ?? '', true));
  }

  /** The server accepts; `protocol` is what it selected. */
  open(protocol = this.protocols.includes(SUBPROTOCOL) ? SUBPROTOCOL : ''): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.onopen?.({});
  }

  /** A frame from the server (objects are JSON-encoded). */
  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' || frame instanceof ArrayBuffer ? frame : JSON.stringify(frame) });
  }

  /** The connection ends. */
  drop(code = 1006, reason = '', wasClean = false): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean });
  }

  error(message: string): void {
    this.onerror?.({ message });
  }

  /** Sent protocol frames, parsed. */
  frames(): ClientFrame[] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d) as ClientFrame);
  }

  /** Sent frames of one type. */
  framesOf<T extends ClientFrame['type']>(type: T): Array<Extract<ClientFrame, { type: T }>> {
    return this.frames().filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}

/** A WebSocket constructor recording every socket it creates. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class Ctor extends FakeSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Ctor as unknown as WebSocketConstructor,
    sockets,
    last: () => {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error('no socket created');
      return s;
    },
  };
}

/** A NEW_SESSION frame. */
export function newSession(sessionId = 's1', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'NEW_SESSION',
    v: 1,
    sessionId,
    resumeToken: `tok-${sessionId}`,
    user: null,
    rooms: {},
    heartbeat: { interval: 10000, timeout: 5000 },
    limits: { maxPayload: 1048576, maxRooms: 100, maxRate: 100 },
    recovered: false,
    ...extra,
  };
}

/** A STATE_RECOVERED frame. */
export function stateRecovered(sessionId: string, token: string, lastSeq: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'STATE_RECOVERED',
    v: 1,
    sessionId,
    resumeToken: token,
    user: null,
    rooms: {},
    heartbeat: { interval: 10000, timeout: 5000 },
    limits: { maxPayload: 1048576, maxRooms: 100, maxRate: 100 },
    lastSeq,
    recovered: true,
    ...extra,
  };
}

/**
 * A client on a fake socket and a manual clock (no jitter, no environment watchers), open and
 * answered with `answer`: by default a new session `s1` in room `r` (epoch `e1`, offset 0).
 * `options` go over those defaults; `before` runs on the client before it connects (listeners).
 * The caller closes it.
 */
export async function connectedOnFake(
  options: Partial<ReconnectingWebSocketOptions> = {},
  answer: Record<string, unknown> = newSession('s1', { rooms: { r: { stream: 'room:r', epoch: 'e1', offset: 0 } } }),
  before?: (ws: ReconnectingWebSocket) => void,
): Promise<{ ws: ReconnectingWebSocket; fake: ReturnType<typeof fakeWebSocket>; socket: FakeSocket; clock: FakeClock }> {
  const clock = new FakeClock();
  const fake = fakeWebSocket();
  const ws = new ReconnectingWebSocket('ws://example.test/socket', { WebSocket: fake.WebSocket, timers: clock, now: () => clock.now, jitter: 'none', environment: {}, ...options });
  before?.(ws);
  await settle();
  const socket = fake.last();
  socket.open();
  await settle();
  socket.receive(answer);
  await settle();
  return { ws, fake, socket, clock };
}
