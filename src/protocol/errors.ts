/**
 * The error-code registry: every error the SDK or the reference server reports has a stable
 * code from this table. `docs/errors.md` documents each one; a test keeps the two in sync.
 * The one-line descriptions live in `error-descriptions.ts`, so the browser bundle, which only
 * needs close codes and actions, does not carry them.
 */

/** How a client reacts to an error that ends its connection. */
export type ErrorAction = 'reconnect' | 'stop' | 'none';

/** One registry entry. */
export interface ErrorInfo {
  /** WebSocket close code sent with this error when it ends the connection. */
  readonly closeCode?: number;
  /** What the client does when the connection ends with this error. */
  readonly action: ErrorAction;
}

/** Every stable error code. */
export type ErrorCode =
  | 'ERR_BAD_JSON'
  | 'ERR_BAD_FRAME'
  | 'ERR_UNKNOWN_TYPE'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_BINARY_NOT_SUPPORTED'
  | 'ERR_NOT_READY'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_PROTOCOL'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_OUT_OF_ORDER'
  | 'ERR_SESSION_EXPIRED'
  | 'ERR_SESSION_UNKNOWN'
  | 'ERR_TOKEN_REJECTED'
  | 'ERR_HISTORY_GAP'
  | 'ERR_SESSION_TAKEN_OVER'
  | 'ERR_RESUME_RATE_LIMITED'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN'
  | 'ERR_ORIGIN_REJECTED'
  | 'ERR_NOT_IN_ROOM'
  | 'ERR_UNKNOWN_TARGET'
  | 'ERR_ROOM_LIMIT'
  | 'ERR_RATE_LIMITED'
  | 'ERR_SLOW_CONSUMER'
  | 'ERR_SESSION_LIMIT'
  | 'ERR_TOO_MANY_HANDSHAKES'
  | 'ERR_OUTBOX_FULL'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_INTERNAL'
  | 'ERR_HEARTBEAT_TIMEOUT'
  | 'ERR_FAULT_INJECTED'
  | 'ERR_STATE_REJECTED'
  | 'ERR_STATE_GAP'
  | 'ERR_NO_STATE'
  | 'ERR_QUEUE_FULL'
  | 'ERR_CLOSED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_CONNECT_FAILED'
  | 'ERR_MAX_RETRIES'
  | 'ERR_STORAGE_FAILED'
  | 'ERR_INVALID_OPTION'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_NOT_SUPPORTED';

/**
 * The registry, written compactly because the browser bundle carries it: one
 * `CODE[:closeCode[:action]]` per entry (`ERR_` left off; action `r` reconnect, `s` stop, none
 * by default). docs/errors.md has the same table in full; a test keeps the two equal.
 */
const TABLE =
  // Frames and protocol
  'BAD_JSON BAD_FRAME UNKNOWN_TYPE FRAME_TOO_LARGE:1009:r BINARY_NOT_SUPPORTED NOT_READY:4000:r UNSUPPORTED_VERSION:4000:r PROTOCOL:4000:r HANDSHAKE_TIMEOUT:4006:r OUT_OF_ORDER::r ' +
  // Sessions and recovery
  'SESSION_EXPIRED SESSION_UNKNOWN TOKEN_REJECTED HISTORY_GAP SESSION_TAKEN_OVER:4002:s RESUME_RATE_LIMITED:4003:r ' +
  // Authorization and limits
  'UNAUTHORIZED:4001:s FORBIDDEN ORIGIN_REJECTED:4007:s NOT_IN_ROOM UNKNOWN_TARGET ROOM_LIMIT RATE_LIMITED:4003:r SLOW_CONSUMER:4004:r SESSION_LIMIT:4010:r TOO_MANY_HANDSHAKES:4010:r OUTBOX_FULL ' +
  // Server health
  'STORE_UNAVAILABLE:4005:r INTERNAL:1011:r HEARTBEAT_TIMEOUT:4009:r FAULT_INJECTED:4008:r ' +
  // State
  'STATE_REJECTED STATE_GAP NO_STATE ' +
  // Client-side
  'QUEUE_FULL CLOSED CONNECT_TIMEOUT::r CONNECT_FAILED::r MAX_RETRIES::s STORAGE_FAILED INVALID_OPTION MESSAGE_TOO_LARGE NOT_SUPPORTED';

/** The registry. Keys are the stable error codes. */
export const ERRORS = {} as Readonly<Record<ErrorCode, ErrorInfo>>;
for (const entry of TABLE.split(' ')) {
  const [name, close, action] = entry.split(':');
  (ERRORS as Record<string, ErrorInfo>)[`ERR_${name}`] = {
    ...(close ? { closeCode: Number(close) } : {}),
    action: action === 'r' ? 'reconnect' : action === 's' ? 'stop' : 'none',
  };
}

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

  /** `message` defaults to the code; the description is in `ERROR_DESCRIPTIONS` (server side). */
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown>; closeCode?: number }) {
    const info: ErrorInfo = ERRORS[code];
    super(message ?? code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ResilientSocketError';
    this.code = code;
    this.closeCode = options?.closeCode ?? info.closeCode;
    this.details = options?.details;
  }
}
