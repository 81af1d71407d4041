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

/** The registry. Keys are the stable error codes. */
export const ERRORS = {
  // Frames and protocol
  ERR_BAD_JSON: { action: 'none' },
  ERR_BAD_FRAME: { action: 'none' },
  ERR_UNKNOWN_TYPE: { action: 'none' },
  ERR_FRAME_TOO_LARGE: { closeCode: 1009, action: 'reconnect' },
  ERR_BINARY_NOT_SUPPORTED: { action: 'none' },
  ERR_NOT_READY: { closeCode: 4000, action: 'reconnect' },
  ERR_UNSUPPORTED_VERSION: { closeCode: 4000, action: 'reconnect' },
  ERR_PROTOCOL: { closeCode: 4000, action: 'reconnect' },
  ERR_HANDSHAKE_TIMEOUT: { closeCode: 4006, action: 'reconnect' },
  ERR_OUT_OF_ORDER: { action: 'reconnect' },
  // Sessions and recovery
  ERR_SESSION_EXPIRED: { action: 'none' },
  ERR_SESSION_UNKNOWN: { action: 'none' },
  ERR_TOKEN_REJECTED: { action: 'none' },
  ERR_HISTORY_GAP: { action: 'none' },
  ERR_SESSION_TAKEN_OVER: { closeCode: 4002, action: 'stop' },
  ERR_RESUME_RATE_LIMITED: { closeCode: 4003, action: 'reconnect' },
  // Authorization and limits
  ERR_UNAUTHORIZED: { closeCode: 4001, action: 'stop' },
  ERR_FORBIDDEN: { action: 'none' },
  ERR_ORIGIN_REJECTED: { closeCode: 4007, action: 'stop' },
  ERR_NOT_IN_ROOM: { action: 'none' },
  ERR_UNKNOWN_TARGET: { action: 'none' },
  ERR_ROOM_LIMIT: { action: 'none' },
  ERR_RATE_LIMITED: { closeCode: 4003, action: 'reconnect' },
  ERR_SLOW_CONSUMER: { closeCode: 4004, action: 'reconnect' },
  ERR_SESSION_LIMIT: { closeCode: 4010, action: 'reconnect' },
  ERR_TOO_MANY_HANDSHAKES: { closeCode: 4010, action: 'reconnect' },
  ERR_OUTBOX_FULL: { action: 'none' },
  // Server health
  ERR_STORE_UNAVAILABLE: { closeCode: 4005, action: 'reconnect' },
  ERR_INTERNAL: { closeCode: 1011, action: 'reconnect' },
  ERR_HEARTBEAT_TIMEOUT: { closeCode: 4009, action: 'reconnect' },
  ERR_FAULT_INJECTED: { closeCode: 4008, action: 'reconnect' },
  // State
  ERR_STATE_REJECTED: { action: 'none' },
  ERR_STATE_GAP: { action: 'none' },
  ERR_NO_STATE: { action: 'none' },
  // Client-side
  ERR_QUEUE_FULL: { action: 'none' },
  ERR_CLOSED: { action: 'none' },
  ERR_CONNECT_TIMEOUT: { action: 'reconnect' },
  ERR_CONNECT_FAILED: { action: 'reconnect' },
  ERR_MAX_RETRIES: { action: 'stop' },
  ERR_STORAGE_FAILED: { action: 'none' },
  ERR_INVALID_OPTION: { action: 'none' },
  ERR_MESSAGE_TOO_LARGE: { action: 'none' },
  ERR_NOT_SUPPORTED: { action: 'none' },
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
