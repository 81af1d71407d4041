/**
 * `ReconnectingWebSocket`: a WebSocket-compatible client that reconnects with jittered backoff
 * and, against a server speaking protocol v1, resumes its session, recovers missed messages and
 * delivers its offline queue exactly once. Synced state is not in here: it is the subclass of
 * `resilient-socket/state`, so applications that do not use it do not ship it. See docs/client.md.
 */
import { decodeServerFrame } from '../protocol/codec.js';
import { ResilientSocketError } from '../protocol/errors.js';
import { defaultStorage } from '../storage/default-storage.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import { ClientSession } from './client-session.js';
import { Heartbeat } from './heartbeat.js';
import type { ReconnectingWebSocketOptions, UrlProvider } from './options.js';
import { ReconnectingSocketBase } from './reconnecting-socket-base.js';
import type { ProtocolKit } from './reconnecting-socket-base.js';
import { claimSessionSlot } from './session-slot.js';
import type { StateBinding } from './state-binding.js';

/** The state layer of a client without synced state: holds nothing, refuses `dispatch()`. */
const NO_STATE = {
  load() {},
  clear() {},
  get() {},
  dispatch: () =>
    Promise.reject(new ResilientSocketError('ERR_NOT_SUPPORTED', "dispatch() needs 'resilient-socket/state'")),
} as unknown as StateBinding;

/** The protocol half without synced state. @internal */
export const PROTOCOL: ProtocolKit = {
  session: (host, key, o) => {
    const storage = o.storage ?? defaultStorage();
    // a MemoryStorage of its own (Node's default) is read by nobody: skip writing session records
    return new ClientSession(host, storage, key, o, !o.storage && storage instanceof MemoryStorage);
  },
  state: () => NO_STATE,
  heartbeat: (options) => new Heartbeat(options),
  decode: decodeServerFrame,
  slot: claimSessionSlot,
};

/**
 * A reconnecting WebSocket. Drop-in for the WebSocket API (and for `reconnecting-websocket`),
 * plus typed events, a connection status machine, session recovery and an offline queue whose
 * `send()` promises settle when the server acknowledges. Without synced state: `getState()`
 * returns undefined, `dispatch()` rejects with `ERR_NOT_SUPPORTED` and no `state` event fires
 * (the `ReconnectingWebSocket` of `resilient-socket/state` has them).
 */
export class ReconnectingWebSocket extends ReconnectingSocketBase {
  /** @internal The protocol half; the `resilient-socket/state` subclass adds the state layer. */
  static _kit: ProtocolKit = PROTOCOL;

  /**
   * @param url the server URL, or a function returning it (called before every attempt, so it can
   *   carry fresh credentials)
   * @param options see {@link ReconnectingWebSocketOptions}; every option is optional
   */
  constructor(url: UrlProvider, options?: ReconnectingWebSocketOptions) {
    super(url, options, (new.target as typeof ReconnectingWebSocket)._kit);
  }
}
