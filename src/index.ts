/**
 * `resilient-socket`: the client. Browser-safe: nothing here imports Node built-ins or server
 * code (Node-only pieces are in `resilient-socket/node`). Synced state is opt-in: the
 * `ReconnectingWebSocket` of `resilient-socket/state` adds `dispatch()`, `getState()` and `state`
 * events; this one refuses `dispatch()` with `ERR_NOT_SUPPORTED`.
 */
export { ReconnectingWebSocket } from './client/reconnecting-websocket.js';
export type { ClientStats } from './client/stats.js';
export type { SendOptions, SendResult, StateEventResult } from './client/client-session.js';
export type { StateValue } from './client/state-binding.js';
export type { StateChange, StateChangeSource } from './client/state-replica.js';
export type {
  ConnectionStatus,
  ConnectionMode,
  StatusChange,
  OpenInfo,
  CloseInfo,
  RetryInfo,
  RecoveryInfo,
  ReceivedMessage,
  OperationKind,
  OperationInfo,
  SentInfo,
  QueueFullInfo,
  ReconnectingWebSocketEvents,
} from './client/events.js';
export type { CompatEvent, CompatEventType, CompatListener } from './client/compat-events.js';
export { DEFAULTS } from './client/options.js';
export type { ReconnectingWebSocketOptions, Mode, UrlProvider, Environment, EventTargetLike } from './client/options.js';
export type { LockManagerLike, SlotMemo } from './client/session-slot.js';
export { backoff } from './client/backoff.js';
export type { BackoffOptions, Jitter } from './client/backoff.js';
export { OfflineQueue } from './client/offline-queue.js';
export type { Operation, QueueItem, QueueSnapshot, OfflineQueueLimits } from './client/offline-queue.js';
export type { Timers } from './client/timers.js';
export type { WebSocketLike, WebSocketConstructor } from './client/web-socket-like.js';
export { MemoryStorage, IndexedDBStorage, defaultStorage } from './storage/index.js';
export type { StorageAdapter, MaybePromise, IndexedDBStorageOptions } from './storage/index.js';
export { ResilientSocketError, ERRORS, CLOSE_CODES, isErrorCode, PROTOCOL_VERSION, SUBPROTOCOL } from './protocol/index.js';
export type { ErrorCode, Json, Position, Positions, StreamGap, NotRecoveredReason } from './protocol/index.js';
