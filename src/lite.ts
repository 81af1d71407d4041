/**
 * `resilient-socket/lite`: the smallest useful import, a plain-mode reconnecting WebSocket
 * (backoff with jitter, connect timeout, `online`/visibility retries, bounded offline queue,
 * typed events) without the protocol: no session recovery, acks or synced state. Browser-safe.
 */
export { PlainReconnectingWebSocket as ReconnectingWebSocket } from './client/plain-reconnecting-websocket.js';
export type { ClientStats } from './client/stats.js';
export type { SendOptions, SendResult } from './client/client-session.js';
export type {
  ConnectionStatus,
  ConnectionMode,
  StatusChange,
  OpenInfo,
  CloseInfo,
  RetryInfo,
  ReceivedMessage,
  QueueFullInfo,
  ReconnectingWebSocketEvents,
} from './client/events.js';
export type { CompatEvent, CompatEventType, CompatListener } from './client/compat-events.js';
export type { ReconnectingWebSocketOptions, UrlProvider, Environment, EventTargetLike } from './client/options.js';
export { backoff } from './client/backoff.js';
export type { BackoffOptions, Jitter } from './client/backoff.js';
export type { Timers } from './client/timers.js';
export type { WebSocketLike, WebSocketConstructor } from './client/web-socket-like.js';
export { ResilientSocketError, isErrorCode } from './protocol/errors.js';
export type { ErrorCode } from './protocol/errors.js';
