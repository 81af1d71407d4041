/**
 * The bound shared by both offline queues (the protocol one and plain mode's): `ERR_QUEUE_FULL`
 * and the `queuefull` event it becomes. @internal
 */
import { ResilientSocketError } from '../protocol/errors.js';
import type { QueueFullInfo } from './events.js';

/** Limits of an offline queue. @internal */
export interface QueueLimits {
  maxLength: number;
  maxBytes: number;
}

/**
 * Throws `ERR_QUEUE_FULL` (with `length`, `bytes` and the limits as details) when one more item
 * of `add` bytes would pass `limits` in a queue holding `length` items of `bytes` bytes. @internal
 */
export function checkQueueRoom(length: number, bytes: number, add: number, limits: QueueLimits): void {
  if (length + 1 > limits.maxLength || bytes + add > limits.maxBytes) {
    throw new ResilientSocketError('ERR_QUEUE_FULL', 'offline queue full', { details: { length, bytes, maxLength: limits.maxLength, maxBytes: limits.maxBytes } });
  }
}

/** The `queuefull` event of an `ERR_QUEUE_FULL` from {@link checkQueueRoom}. @internal */
export function queueFullInfo(error: ResilientSocketError): QueueFullInfo {
  return { error, ...(error.details as Omit<QueueFullInfo, 'error'>) };
}
