/**
 * `resilient-socket/state`: the client with synced, versioned application state. Its
 * `ReconnectingWebSocket` is the core one of `resilient-socket` (a subclass of it) plus
 * `dispatch()`, `getState()` and `state` events. Everything else is re-exported from
 * `resilient-socket` itself, so the two imports share one copy of the client (and `instanceof`
 * works across them). Browser-safe.
 */
export { StateReconnectingWebSocket as ReconnectingWebSocket } from './client/state-reconnecting-websocket.js';
export type { StateValue } from './client/state-binding.js';
export type { StateChange, StateChangeSource } from './client/state-replica.js';
export { DEFAULTS, backoff, OfflineQueue, MemoryStorage, IndexedDBStorage, defaultStorage, ResilientSocketError, ERRORS, CLOSE_CODES, isErrorCode, PROTOCOL_VERSION, SUBPROTOCOL } from './index.js';
export type {
  ClientStats,
  SendOptions,
  SendResult,
  StateEventResult,
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
  CompatEvent,
  CompatEventType,
  CompatListener,
  ReconnectingWebSocketOptions,
  Mode,
  UrlProvider,
  Environment,
  LockManagerLike,
  SlotMemo,
  EventTargetLike,
  BackoffOptions,
  Jitter,
  Operation,
  QueueItem,
  QueueSnapshot,
  OfflineQueueLimits,
  Timers,
  WebSocketLike,
  WebSocketConstructor,
  StorageAdapter,
  MaybePromise,
  IndexedDBStorageOptions,
  ErrorCode,
  Json,
  Position,
  Positions,
  StreamGap,
  NotRecoveredReason,
} from './index.js';
