/**
 * Connection statuses and the typed event map of `ReconnectingWebSocket`.
 * "status" is the connection; the word "state" is reserved for the synced application state.
 */
import type { ResilientSocketError } from '../protocol/errors.js';
import type { Json, NotRecoveredReason, StreamGap } from '../protocol/frames.js';
import type { StateChange } from './state-replica.js';

/**
 * Connection status:
 * - `connecting`: first attempt(s), never open yet (or restarted by `reconnect()` after `closed`);
 * - `open`: connected (in protocol mode: the handshake is done);
 * - `reconnecting`: was open, lost the connection; waiting for the backoff delay or trying again;
 * - `closing`: `close()` was called, the socket is closing;
 * - `closed`: stopped: `close()`, a fatal close code (4001, 4002, 4007) or `maxRetries` reached.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

/** A status transition. */
export interface StatusChange {
  from: ConnectionStatus;
  to: ConnectionStatus;
  /** Why, in a few words (`'socket closed (1006)'`, `'close() called'`, an error code...). */
  reason?: string;
  /** The error behind the transition, if any. */
  error?: ResilientSocketError;
}

/** Which dialect a connection speaks. */
export type ConnectionMode = 'protocol' | 'plain';

/** Sent with every `open`. */
export interface OpenInfo {
  mode: ConnectionMode;
  /** Whether the previous session was resumed (always false on a first connection and in plain mode). */
  recovered: boolean;
  /** Why not, when `recovered` is false (`'new'` for a first connection). */
  reason?: NotRecoveredReason | 'plain';
  /** Session id (protocol mode). */
  sessionId?: string;
  /** User id the server's `authenticate` returned (protocol mode). */
  user?: string | null;
}

/** Sent with every underlying socket close. */
export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether the client will connect again by itself. */
  willReconnect: boolean;
}

/** A retry has been scheduled. */
export interface RetryInfo {
  /** Consecutive failed attempts so far (1 = the first retry). */
  attempt: number;
  /** Delay before the next attempt (ms). */
  delay: number;
}

/** The outcome of a (re)connection, after the replay of missed messages (`REPLAY_DONE`). */
export interface RecoveryInfo {
  recovered: boolean;
  reason?: NotRecoveredReason;
  /** Streams whose missed messages could not be replayed. */
  gaps: StreamGap[];
  /** Messages delivered by the replay. */
  replayed: number;
  sessionId: string;
}

/** A message for the application. */
export interface ReceivedMessage {
  /** The payload (protocol mode: the sender's `data`; plain mode: the raw frame). */
  data: unknown;
  /** Room it was published to (room streams). */
  room?: string;
  /** Stream and offset (protocol mode). */
  stream?: string;
  offset?: number;
  /** The sender's message id (protocol mode). */
  id?: string;
  /** Sender session id, `null` for server-originated messages. */
  from?: string | null;
  /** Sender user id, when the server reports it. */
  user?: string | null;
  /** Sent by this client's own session (echo of a room message). */
  self: boolean;
  /** Delivered by a replay after a reconnect (or a resync), not live. */
  replayed: boolean;
  /** Server time it was stored (ms since epoch). */
  ts?: number;
}

/** Kinds of queued operations. */
export type OperationKind = 'message' | 'join' | 'leave' | 'state';

/** A queued operation, as shown to the application. */
export interface OperationInfo {
  kind: OperationKind;
  /** Message id (messages). */
  id?: string;
  room?: string;
  to?: string;
  /** State scope (state events). */
  scope?: string;
  /** Message data, or the state event (state events). */
  data?: Json;
  /** Queued by an earlier instance (loaded from storage): there is no promise to settle. */
  restored: boolean;
}

/** An operation was acknowledged by the server (or refused, with `error`). */
export interface SentInfo extends OperationInfo {
  /** Where a message landed in its stream. */
  offset?: number;
  error?: ResilientSocketError;
}

/** The queue refused an operation. */
export interface QueueFullInfo {
  error: ResilientSocketError;
  length: number;
  bytes: number;
  maxLength: number;
  maxBytes: number;
}

/** Typed events (`on`/`once`/`off`, the eventemitter3 API: see event-emitter.ts). */
export interface ReconnectingWebSocketEvents {
  /** A connection is open (protocol mode: handshake done). */
  open: (info: OpenInfo) => void;
  /** An underlying socket closed. */
  close: (info: CloseInfo) => void;
  /** Something went wrong; the client keeps going unless the status says otherwise. Never thrown. */
  error: (error: ResilientSocketError) => void;
  /** Every connection status transition. */
  status: (change: StatusChange) => void;
  /** A retry was scheduled. */
  retry: (info: RetryInfo) => void;
  /** A message for the application, in order, exactly once. */
  message: (message: ReceivedMessage) => void;
  /** A (re)connection completed, with or without full recovery. */
  recovered: (info: RecoveryInfo) => void;
  /** Messages of a stream were lost for good (history no longer covers them). */
  gap: (gap: StreamGap) => void;
  /** `send`/`join`/`leave` was refused because the offline queue is full. */
  queuefull: (info: QueueFullInfo) => void;
  /** Operations queued by an earlier instance were loaded from storage and will be sent. */
  restored: (operations: OperationInfo[]) => void;
  /** An operation was acknowledged (or refused) by the server. */
  sent: (info: SentInfo) => void;
  /** The storage adapter failed; the client continues in memory. */
  storagefailed: (error: ResilientSocketError) => void;
  /**
   * The synced application state of a scope changed (or was restored from storage, or confirmed
   * by the server). Not the connection's status: that is the `status` event. Only the client of
   * `resilient-socket/state` emits it.
   */
  state: (change: StateChange) => void;
}
