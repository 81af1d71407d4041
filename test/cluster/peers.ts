/**
 * Real clients (`ReconnectingWebSocket`) for the multi-process tests, with what each received,
 * and the id-based checks every cluster test makes.
 */
import { expect } from 'vitest';
import { ReconnectingWebSocket, MemoryStorage } from '../../src/index.js';
import type { ReceivedMessage, ReconnectingWebSocketOptions, UrlProvider } from '../../src/index.js';

/** A client plus everything it saw. */
export class Peer {
  readonly ws: ReconnectingWebSocket;
  readonly messages: ReceivedMessage[] = [];
  readonly opens: Array<{ recovered: boolean; reason?: string; sessionId?: string }> = [];
  readonly urls: string[] = [];

  constructor(
    readonly name: string,
    url: UrlProvider,
    options: ReconnectingWebSocketOptions = {},
  ) {
    // The url a connection attempt used: wrap the provider to record it.
    const provider = typeof url === 'string' ? () => url : url;
    this.ws = new ReconnectingWebSocket(
      async () => {
        const next = await provider();
        this.urls.push(next);
        return next;
      },
      { mode: 'protocol', storage: new MemoryStorage(), initialReconnectDelay: 20, maxReconnectDelay: 250, environment: {}, ...options },
    );
    this.ws.on('message', (m) => this.messages.push(m));
    this.ws.on('open', (o) => this.opens.push({ recovered: o.recovered, ...(o.reason === undefined ? {} : { reason: o.reason }), ...(o.sessionId === undefined ? {} : { sessionId: o.sessionId }) }));
    // Errors are reported as events (never thrown); the tests check outcomes by id instead.
    this.ws.on('error', () => undefined);
  }

  /** Resolves at the next `open`. */
  opened(): Promise<void> {
    return new Promise((resolve) => this.ws.once('open', () => resolve()));
  }

  /** Ids received in a room, in delivery order. */
  ids(room: string): string[] {
    return this.messages.filter((m) => m.room === room).map((m) => m.id!);
  }

  /** Stop without ending the session (as a crashed or suspended client would leave it). */
  drop(): void {
    this.ws.close(1000, '', { endSession: false });
  }
}

/** Poll until `predicate` holds (bounded); the failure names what was awaited. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Exactly once and in offset order: `peer` received each of `expected` (ids) once in `room`,
 * nothing else, with strictly increasing offsets. Returns the ids in delivery order.
 */
export function expectExactlyOnceInOrder(peer: Peer, room: string, expected: Iterable<string>): string[] {
  const received = peer.messages.filter((m) => m.room === room);
  const ids = received.map((m) => m.id!);
  const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
  expect(duplicates, `${peer.name}: duplicates in ${room}`).toEqual([]);
  expect(new Set(ids), `${peer.name}: ids in ${room}`).toEqual(new Set(expected));
  const offsets = received.map((m) => m.offset!);
  for (let i = 1; i < offsets.length; i++) {
    if (!(offsets[i]! > offsets[i - 1]!)) expect.fail(`${peer.name}: offset ${offsets[i]} after ${offsets[i - 1]} in ${room}`);
  }
  return ids;
}
