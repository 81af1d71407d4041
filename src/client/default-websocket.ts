/**
 * The WebSocket constructor used when the `WebSocket` option is not given: `isomorphic-ws` (`ws`
 * in Node). Browser builds take `default-websocket.browser.ts` instead (see rollup.config.mjs),
 * the global `WebSocket`, which is what `isomorphic-ws` gives browsers too. @internal
 */
import WebSocketImpl from 'isomorphic-ws';
import type { WebSocketConstructor } from './web-socket-like.js';

/** `ws` in Node, the global `WebSocket` elsewhere. @internal */
export function defaultWebSocket(): WebSocketConstructor {
  return WebSocketImpl as unknown as WebSocketConstructor;
}
