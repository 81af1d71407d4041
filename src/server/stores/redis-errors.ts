/** Mapping of Redis client failures to the SDK's error codes. */
import { ResilientSocketError } from '../../protocol/errors.js';

/** Redis replies that mean "not now", not "wrong command": the client should retry later. */
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|NOREPLICAS|TRYAGAIN|MISCONF)\b/;

/**
 * `ERR_STORE_UNAVAILABLE` for connection trouble (closed, refused, timed out, offline) and
 * transient Redis states; `ERR_INTERNAL` for a reply error that retrying cannot fix. The
 * original error is the `cause`.
 *
 * @internal
 */
export function storeError(error: unknown): ResilientSocketError {
  if (error instanceof ResilientSocketError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const isReply = error instanceof Error && error.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(message)) {
    return new ResilientSocketError('ERR_INTERNAL', `Redis refused a store command: ${message}`, { cause: error });
  }
  return new ResilientSocketError('ERR_STORE_UNAVAILABLE', `Redis is unavailable: ${message}`, { cause: error });
}

/** @internal The error for a command refused before it was sent (not connected, closed). */
export function unavailable(reason: string): ResilientSocketError {
  return new ResilientSocketError('ERR_STORE_UNAVAILABLE', `Redis is unavailable: ${reason}`);
}
