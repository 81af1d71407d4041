/**
 * Shared pieces of the state integration tests: the reducer (a counter that lists the ids of the
 * events it applied, so exactly-once is checked by comparing ids), a client that records its
 * `state` events, and a WebSocket that records the frames the client receives.
 */
import WebSocket from 'ws';
import type { Json, ServerFrame, StateUpdateFrame } from '../../src/protocol/frames.js';
import type { ServerStateOptions } from '../../src/server/index.js';
import type { StateEventEnvelope } from '../../src/server/index.js';
import type { StateChange } from '../../src/state.js';
import type { ReconnectingWebSocketOptions } from '../../src/client/options.js';
import type { WebSocketConstructor } from '../../src/client/web-socket-like.js';
import { StateReconnectingWebSocket } from '../../src/client/state-reconnecting-websocket.js';
import { connect, waitFor } from '../client/integration-helpers.js';
import type { TestSocket } from '../client/integration-helpers.js';

/** A counter: how many events, and their ids in the order applied. */
export interface Counter {
  count: number;
  ids: string[];
}

/** The state option every test uses; `{ refuse: true }` events are refused. */
export function counterState(extra: Partial<ServerStateOptions> = {}): ServerStateOptions {
  return {
    initialState: () => ({ count: 0, ids: [] }),
    applyEvent: (state: Json, event: Json): Json | undefined => {
      const e = event as unknown as StateEventEnvelope;
      const data = e.data as { id?: string; refuse?: boolean };
      if (data.refuse === true) throw new Error('refused by the test reducer');
      const c = state as unknown as Counter;
      return { count: c.count + 1, ids: [...c.ids, String(data.id)] };
    },
    ...extra,
  };
}

/** A client plus the `state` events it saw. */
export interface StateSocket extends TestSocket {
  readonly ws: StateReconnectingWebSocket;
  changes: StateChange[];
}

/** `connect` from the client integration helpers, recording `state` events. */
export function stateClient(url: string | (() => string), options: ReconnectingWebSocketOptions = {}): StateSocket {
  const t = connect(url, options, StateReconnectingWebSocket) as StateSocket;
  t.changes = [];
  t.ws.on('state', (c) => t.changes.push(c));
  return t;
}

/** A `ws` WebSocket constructor that records every `STATE_UPDATE` the client receives. */
export function frameSpy(): { WebSocket: WebSocketConstructor; updates: StateUpdateFrame[] } {
  const updates: StateUpdateFrame[] = [];
  class Spy extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.type === 'STATE_UPDATE') updates.push(frame);
      });
    }
  }
  return { WebSocket: Spy as unknown as WebSocketConstructor, updates };
}

/** The value of `scope` as a counter (throws when none is held). */
export function counterOf(t: StateSocket, scope: string): Counter & { version: number; confirmed: boolean } {
  const s = t.ws.getState(scope);
  if (s === undefined) throw new Error(`no state held for ${scope}`);
  return { ...(s.value as unknown as Counter), version: s.version, confirmed: s.confirmed };
}

/** What {@link counterUnderCuts} did: the ids dispatched, in order, and each dispatch's result. */
export interface CutsRun {
  sent: string[];
  results: Array<{ version?: number }>;
}

/**
 * The shared scenario of the room-counter tests: A and B dispatch to `scope`; three times A is cut
 * by the server (`cut`) and kept away (`setReachable(false)`) while both keep dispatching (A
 * queues offline), then A comes back. Resolves once every dispatch settled.
 */
export async function counterUnderCuts(
  a: StateSocket,
  b: StateSocket,
  scope: string,
  opts: { before: number; perCut: number; cut: () => Promise<unknown>; setReachable: (up: boolean) => void },
): Promise<CutsRun> {
  const sent: string[] = [];
  const pending: Array<Promise<{ version?: number }>> = [];
  const dispatch = (who: StateSocket, id: string): void => {
    sent.push(id);
    pending.push(who.ws.dispatch(scope, { id }));
  };
  for (let i = 0; i < opts.before; i++) {
    dispatch(a, `a${i}`);
    dispatch(b, `b${i}`);
  }
  for (let cut = 0; cut < 3; cut++) {
    opts.setReachable(false);
    await opts.cut();
    for (let i = 0; i < opts.perCut; i++) {
      dispatch(b, `b-cut${cut}-${i}`);
      dispatch(a, `a-cut${cut}-${i}`);
    }
    await waitFor(() => b.ws.stats.queueLength === 0, 'B acknowledged');
    opts.setReachable(true);
    a.ws.reconnect();
    await waitFor(() => a.ws.status === 'open', 'A back');
  }
  return { sent, results: await Promise.all(pending) };
}
