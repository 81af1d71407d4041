/**
 * The plain-only `ReconnectingWebSocket` of `resilient-socket/lite`: the same class body as the
 * full client, built without the protocol modules (session, offline-queue persistence, state,
 * heartbeat, frame codec), for applications that talk to a plain WebSocket server.
 */
import type { ReconnectingWebSocketOptions, UrlProvider } from './options.js';
import { ReconnectingSocketBase } from './reconnecting-socket-base.js';

/**
 * A reconnecting WebSocket that never speaks the protocol: `mode` is `'plain'` (the default
 * here; any other value throws `ERR_INVALID_OPTION`). Backoff, the connect timeout, the
 * `online`/visibility retries and the bounded in-memory queue behave as in the full client's plain
 * mode; `join`, `leave`, `dispatch` and `authenticate` reject with `ERR_NOT_SUPPORTED`.
 */
export class PlainReconnectingWebSocket extends ReconnectingSocketBase {
  /**
   * @param url the server URL, or a function returning it (called before every attempt)
   * @param options as for the full client; `mode` may only be `'plain'`
   */
  constructor(url: UrlProvider, options?: ReconnectingWebSocketOptions) {
    super(url, options, undefined);
  }
}
