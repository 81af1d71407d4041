/** `default-websocket.ts` for browser bundles (see rollup.config.mjs): the global `WebSocket`. @internal */
import type { WebSocketConstructor } from './web-socket-like.js';

/** The global `WebSocket` (read at each construction, so one installed later is found). @internal */
export function defaultWebSocket(): WebSocketConstructor {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket!;
}
