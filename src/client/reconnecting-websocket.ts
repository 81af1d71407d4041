/**
 * `ReconnectingWebSocket`: a WebSocket-compatible client that reconnects with jittered backoff
 * and, against a server speaking protocol v1, resumes its session, recovers missed messages and
 * delivers its offline queue exactly once. See docs/client.md.
 */
import { decodeServerFrame } from '../protocol/codec.js';
import { defaultStorage } from '../storage/default-storage.js';
import { ClientSession } from './client-session.js';
import { Heartbeat } from './heartbeat.js';
import type { ReconnectingWebSocketOptions, UrlProvider } from './options.js';
import { ReconnectingSocketBase } from './reconnecting-socket-base.js';
import type { ProtocolKit } from './reconnecting-socket-base.js';
import { StateBinding } from './state-binding.js';

const PROTOCOL: ProtocolKit = {
  session: (host, key, o) => new ClientSession(host, o.storage ?? defaultStorage(), key, o),
  state: (session, emit) => new StateBinding(session, emit),
  heartbeat: (options) => new Heartbeat(options),
  decode: decodeServerFrame,
};

/**
 * A reconnecting WebSocket. Drop-in for the WebSocket API (and for `reconnecting-websocket`),
 * plus typed events (eventemitter3), a connection status machine, session recovery and an
 * offline queue whose `send()` promises settle when the server acknowledges.
 */
export class ReconnectingWebSocket extends ReconnectingSocketBase {
  /**
   * @param url the server URL, or a function returning it (called before every attempt, so it can
   *   carry fresh credentials)
   * @param options see {@link ReconnectingWebSocketOptions}; every option is optional
   */
  constructor(url: UrlProvider, options?: ReconnectingWebSocketOptions) {
    super(url, options, PROTOCOL);
  }
}
