/**
 * Folding stored events on the main thread, for short logs and for engines without a reducer
 * module (whose reducer cannot be loaded in a worker). Long logs are folded in chunks that yield
 * to the event loop in between, so other connections keep being served.
 */
import type { Json } from '../../protocol/frames.js';
import type { StoredStateEvent } from '../stores/store.js';
import { ResilientSocketError } from '../../protocol/errors.js';
import { decodeBlobSync } from './blob-codec.js';
import type { ApplyEvent } from './reducer.js';

/** Yield to the event loop (after pending I/O callbacks). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Fold `events` onto `base` with `applyEvent`. Versions must follow `baseVersion` one by one
 * (`ERR_INTERNAL`, `details.reason: 'gap'` otherwise); a reducer refusing a stored event is
 * `ERR_INTERNAL` with `reason: 'reducer_failed'`. `onValue` sees every intermediate value.
 */
export async function foldEvents(
  applyEvent: ApplyEvent,
  scope: string,
  base: Json,
  baseVersion: number,
  events: readonly StoredStateEvent[],
  chunkSize: number,
  onValue?: (version: number, value: Json) => void,
): Promise<{ value: Json; version: number }> {
  let value = base;
  let version = baseVersion;
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && i % chunkSize === 0) await yieldToLoop();
    const stored = events[i] as StoredStateEvent;
    if (stored.version !== version + 1) {
      throw new ResilientSocketError('ERR_INTERNAL', `state event ${stored.version} does not follow version ${version}`, { details: { reason: 'gap', scope } });
    }
    let next: Json | undefined;
    try {
      next = applyEvent(value, decodeBlobSync(stored.event), { scope, version: stored.version, replay: true });
    } catch (err) {
      throw new ResilientSocketError('ERR_INTERNAL', `the reducer failed on stored state event ${stored.version}`, { cause: err, details: { reason: 'reducer_failed', scope } });
    }
    if (next === undefined) {
      throw new ResilientSocketError('ERR_INTERNAL', `the reducer refused stored state event ${stored.version}`, { details: { reason: 'reducer_failed', scope } });
    }
    value = next;
    version = stored.version;
    onValue?.(version, value);
  }
  return { value, version };
}
