/**
 * The error-code registry: every error the SDK or the reference server reports has a stable
 * code from this table. `docs/errors.md` documents each one; a test keeps the two in sync.
 */

/** How a client reacts to an error that ends its connection. */
export type ErrorAction = 'reconnect' | 'stop' | 'none';

/** One registry entry. */
export interface ErrorInfo {
  /** WebSocket close code sent with this error when it ends the connection. */
  readonly closeCode?: number;
  /** What the client does when the connection ends with this error. */
  readonly action: ErrorAction;
  /** One-line description (also in docs/errors.md). */
  readonly description: string;
}

/** The registry. Keys are the stable error codes. */
export const ERRORS = {
  // Frames and protocol
  ERR_BAD_JSON: { action: 'none', description: 'A text frame was not valid JSON.' },
  ERR_BAD_FRAME: { action: 'none', description: 'A frame is not an object with a string `type`, or a field is missing or has the wrong type or range.' },
  ERR_UNKNOWN_TYPE: { action: 'none', description: 'A frame has a `type` this side does not know.' },
  ERR_FRAME_TOO_LARGE: { closeCode: 1009, action: 'reconnect', description: 'A frame is larger than the peer\'s `maxPayload`.' },
  ERR_BINARY_NOT_SUPPORTED: { action: 'none', description: 'A binary frame was received where the protocol only carries JSON text.' },
  ERR_NOT_READY: { closeCode: 4000, action: 'reconnect', description: 'A frame other than `HELLO` / `RECONNECT` arrived before the handshake.' },
  ERR_UNSUPPORTED_VERSION: { closeCode: 4000, action: 'reconnect', description: 'The handshake asked for a protocol version the server does not speak.' },
  ERR_PROTOCOL: { closeCode: 4000, action: 'reconnect', description: 'The peer broke the protocol (for example a second handshake).' },
  ERR_HANDSHAKE_TIMEOUT: { closeCode: 4006, action: 'reconnect', description: 'The handshake did not complete within `handshakeTimeout`.' },
  ERR_OUT_OF_ORDER: { action: 'reconnect', description: 'A client `seq` skipped ahead of the next expected one; the client reconnects and re-sends.' },
  // Sessions and recovery
  ERR_SESSION_EXPIRED: { action: 'none', description: 'The session to resume has expired (its TTL passed); a new session was started.' },
  ERR_SESSION_UNKNOWN: { action: 'none', description: 'The server does not know the session to resume; a new session was started.' },
  ERR_TOKEN_REJECTED: { action: 'none', description: 'The resume token did not match the session; a new session was started.' },
  ERR_HISTORY_GAP: { action: 'none', description: 'History no longer covers the messages a client missed (retention exceeded or history lost).' },
  ERR_SESSION_TAKEN_OVER: { closeCode: 4002, action: 'stop', description: 'Another connection resumed this session; this one was closed.' },
  ERR_RESUME_RATE_LIMITED: { closeCode: 4003, action: 'reconnect', description: 'Too many failed resume attempts from this address; retry later.' },
  // Authorization and limits
  ERR_UNAUTHORIZED: { closeCode: 4001, action: 'stop', description: 'The `authenticate` hook refused the connection.' },
  ERR_FORBIDDEN: { action: 'none', description: 'The operation is not allowed for this session (e.g. switching user on `AUTH`).' },
  ERR_ORIGIN_REJECTED: { closeCode: 4007, action: 'stop', description: 'The request\'s Origin is not in the server\'s allowed list.' },
  ERR_NOT_IN_ROOM: { action: 'none', description: 'A message was published to a room the session has not joined.' },
  ERR_UNKNOWN_TARGET: { action: 'none', description: 'A direct message names a session the server does not know.' },
  ERR_ROOM_LIMIT: { action: 'none', description: 'The session is already in `maxRoomsPerSession` rooms.' },
  ERR_RATE_LIMITED: { closeCode: 4003, action: 'reconnect', description: 'The connection sent more than `maxMessagesPerSecond` frames per second.' },
  ERR_SLOW_CONSUMER: { closeCode: 4004, action: 'reconnect', description: 'The connection\'s send buffer passed `maxBufferedBytes`; it was cut and recovers on reconnect.' },
  ERR_SESSION_LIMIT: { closeCode: 4010, action: 'reconnect', description: 'The user already has `maxSessionsPerUser` sessions.' },
  ERR_TOO_MANY_HANDSHAKES: { closeCode: 4010, action: 'reconnect', description: 'The server has `maxPendingHandshakes` handshakes in progress.' },
  ERR_OUTBOX_FULL: { action: 'none', description: 'A session\'s undelivered direct history passed `maxOutbox`; the oldest entries are trimmed and reported as a gap.' },
  // Server health
  ERR_STORE_UNAVAILABLE: { closeCode: 4005, action: 'reconnect', description: 'The server\'s store (e.g. Redis) is unreachable; nothing was accepted, retry.' },
  ERR_INTERNAL: { closeCode: 1011, action: 'reconnect', description: 'The server failed unexpectedly while handling a frame.' },
  ERR_HEARTBEAT_TIMEOUT: { closeCode: 4009, action: 'reconnect', description: 'No heartbeat answer within the timeout: the connection is treated as dead.' },
  ERR_FAULT_INJECTED: { closeCode: 4008, action: 'reconnect', description: 'The connection was cut by the fault-injection endpoint (tests and demo only).' },
  // State
  ERR_STATE_REJECTED: { action: 'none', description: 'The server\'s `applyEvent` reducer refused a `STATE_EVENT`.' },
  ERR_STATE_GAP: { action: 'none', description: 'A state patch did not apply to the version held; a resync was requested.' },
  ERR_NO_STATE: { action: 'none', description: 'The server has no state configured for this scope.' },
  // Client-side
  ERR_QUEUE_FULL: { action: 'none', description: 'The offline queue is at `maxQueueLength` or `maxQueueBytes`; the new message was refused.' },
  ERR_CLOSED: { action: 'none', description: 'The client was closed for good; the operation was refused or the pending one abandoned.' },
  ERR_CONNECT_TIMEOUT: { action: 'reconnect', description: 'The connection did not open within `connectTimeout`.' },
  ERR_CONNECT_FAILED: { action: 'reconnect', description: 'A connection attempt failed before it opened (refused, unreachable, bad URL, the URL provider threw).' },
  ERR_MAX_RETRIES: { action: 'stop', description: 'The client gave up after `maxRetries` attempts.' },
  ERR_STORAGE_FAILED: { action: 'none', description: 'The storage adapter failed; the client continues in memory.' },
  ERR_INVALID_OPTION: { action: 'none', description: 'An option passed to a constructor is invalid.' },
  ERR_MESSAGE_TOO_LARGE: { action: 'none', description: 'A message passed to `send()` is larger than the server\'s `maxPayload`.' },
  ERR_NOT_SUPPORTED: { action: 'none', description: 'The operation needs the protocol, but the client runs in plain mode.' },
} as const satisfies Record<string, ErrorInfo>;

/** Every stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Whether `code` is a registered error code. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** Close codes used by the protocol (besides 1000, 1001, 1009 and 1011). */
export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TOO_LARGE: 1009,
  INTERNAL: 1011,
  PROTOCOL: 4000,
  UNAUTHORIZED: 4001,
  TAKEN_OVER: 4002,
  RATE_LIMITED: 4003,
  SLOW_CONSUMER: 4004,
  STORE_UNAVAILABLE: 4005,
  HANDSHAKE_TIMEOUT: 4006,
  ORIGIN_REJECTED: 4007,
  FAULT_INJECTED: 4008,
  HEARTBEAT_TIMEOUT: 4009,
  OVERLOADED: 4010,
} as const;

/** The close codes after which a client must not reconnect on its own. */
export const STOP_CLOSE_CODES: ReadonlySet<number> = new Set([
  CLOSE_CODES.UNAUTHORIZED,
  CLOSE_CODES.TAKEN_OVER,
  CLOSE_CODES.ORIGIN_REJECTED,
]);

/**
 * An error with a stable `code` from the registry, the close code attached where one applies,
 * and the original error as `cause`.
 */
export class ResilientSocketError extends Error {
  /** Stable code from the registry. */
  readonly code: ErrorCode;
  /** WebSocket close code associated with the error, if any. */
  readonly closeCode: number | undefined;
  /** Extra, error-specific details (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown>; closeCode?: number }) {
    const info: ErrorInfo = ERRORS[code];
    super(message ?? info.description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ResilientSocketError';
    this.code = code;
    this.closeCode = options?.closeCode ?? info.closeCode;
    this.details = options?.details;
  }
}
