/**
 * One-line description of every error code (the same text as docs/errors.md; a test keeps them
 * equal). Kept out of `errors.ts` so the browser client does not ship ~6 KB of prose it never
 * shows: the server, the docs and the tests import it.
 */
import type { ErrorCode } from './errors.js';

/** Description of each error code. */
export const ERROR_DESCRIPTIONS: Readonly<Record<ErrorCode, string>> = {
  // Frames and protocol
  ERR_BAD_JSON: 'A text frame was not valid JSON.',
  ERR_BAD_FRAME: 'A frame is not an object with a string `type`, or a field is missing or has the wrong type or range.',
  ERR_UNKNOWN_TYPE: 'A frame has a `type` this side does not know.',
  ERR_FRAME_TOO_LARGE: 'A frame is larger than the peer\'s `maxPayload`.',
  ERR_BINARY_NOT_SUPPORTED: 'A binary frame was received where the protocol only carries JSON text.',
  ERR_NOT_READY: 'A frame other than `HELLO` / `RECONNECT` arrived before the handshake.',
  ERR_UNSUPPORTED_VERSION: 'The handshake asked for a protocol version the server does not speak.',
  ERR_PROTOCOL: 'The peer broke the protocol (for example a second handshake).',
  ERR_HANDSHAKE_TIMEOUT: 'The handshake did not complete within `handshakeTimeout`.',
  ERR_OUT_OF_ORDER: 'A client `seq` skipped ahead of the next expected one; the client reconnects and re-sends.',
  // Sessions and recovery
  ERR_SESSION_EXPIRED: 'The session to resume has expired (its TTL passed); a new session was started.',
  ERR_SESSION_UNKNOWN: 'The server does not know the session to resume; a new session was started.',
  ERR_TOKEN_REJECTED: 'The resume token did not match the session; a new session was started.',
  ERR_HISTORY_GAP: 'History no longer covers the messages a client missed (retention exceeded or history lost).',
  ERR_SESSION_TAKEN_OVER: 'Another connection resumed this session; this one was closed.',
  ERR_RESUME_RATE_LIMITED: 'Too many failed resume attempts from this address; retry later.',
  // Authorization and limits
  ERR_UNAUTHORIZED: 'The `authenticate` hook refused the connection.',
  ERR_FORBIDDEN: 'The operation is not allowed for this session (e.g. switching user on `AUTH`).',
  ERR_ORIGIN_REJECTED: 'The request\'s Origin is not in the server\'s allowed list.',
  ERR_NOT_IN_ROOM: 'A message was published to a room the session has not joined.',
  ERR_UNKNOWN_TARGET: 'A direct message names a session the server does not know.',
  ERR_ROOM_LIMIT: 'The session is already in `maxRoomsPerSession` rooms.',
  ERR_RATE_LIMITED: 'The connection sent more than `maxMessagesPerSecond` frames per second.',
  ERR_SLOW_CONSUMER: 'The connection\'s send buffer passed `maxBufferedBytes`; it was cut and recovers on reconnect.',
  ERR_SESSION_LIMIT: 'The user already has `maxSessionsPerUser` sessions (a new session is closed with 4010; an `AUTH` binding an anonymous session is refused and the session stays anonymous).',
  ERR_TOO_MANY_HANDSHAKES: 'The server has `maxPendingHandshakes` handshakes in progress.',
  ERR_OUTBOX_FULL: 'A session\'s undelivered direct history passed `maxOutbox`; the oldest entries are trimmed and reported as a gap.',
  // Server health
  ERR_STORE_UNAVAILABLE: 'The server\'s store (e.g. Redis) is unreachable; nothing was accepted, retry.',
  ERR_INTERNAL: 'The server failed unexpectedly while handling a frame.',
  ERR_HEARTBEAT_TIMEOUT: 'No heartbeat answer within the timeout: the connection is treated as dead.',
  ERR_FAULT_INJECTED: 'The connection was cut by the fault-injection endpoint (tests and demo only).',
  // State
  ERR_STATE_REJECTED: 'The server\'s `applyEvent` reducer refused a `STATE_EVENT`.',
  ERR_STATE_GAP: 'A state patch did not apply to the version held; a resync was requested.',
  ERR_NO_STATE: 'The server has no state configured for this scope.',
  // Client-side
  ERR_QUEUE_FULL: 'The offline queue is at `maxQueueLength` or `maxQueueBytes`; the new message was refused.',
  ERR_CLOSED: 'The client was closed for good; the operation was refused or the pending one abandoned.',
  ERR_CONNECT_TIMEOUT: 'The connection did not open within `connectTimeout`.',
  ERR_CONNECT_FAILED: 'A connection attempt failed before it opened (refused, unreachable, bad URL, the URL provider threw).',
  ERR_MAX_RETRIES: 'The client gave up after `maxRetries` attempts.',
  ERR_STORAGE_FAILED: 'The storage adapter failed; the client continues in memory.',
  ERR_INVALID_OPTION: 'An option passed to a constructor is invalid.',
  ERR_MESSAGE_TOO_LARGE: 'A message passed to `send()` is larger than the server\'s `maxPayload`.',
  ERR_NOT_SUPPORTED: 'The operation needs something this client lacks: the protocol (the client runs in plain mode), or synced state (`dispatch()` on a client not from `resilient-socket/state`).',
};
