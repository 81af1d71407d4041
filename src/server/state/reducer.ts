/**
 * The application's state logic, as the state engine calls it. The same functions run on the
 * main thread (new events) and in rebuild workers (replays), so they must be deterministic and
 * depend only on their arguments.
 */
import type { Json } from '../../protocol/frames.js';
import { ResilientSocketError } from '../../protocol/errors.js';

/** What the reducer learns besides the state and the event. */
export interface ApplyContext {
  /** The store scope (`room:<name>` or `session:<id>`). */
  scope: string;
  /** The version this event produces. */
  version: number;
  /** True while rebuilding from the log (the event was accepted before). */
  replay: boolean;
}

/**
 * Fold one event into the state and return the new state. It must not modify `state` (return a
 * new value; unchanged parts may be shared): the engine keeps earlier versions to diff against.
 * Refuse an event by throwing or by returning `undefined` (the append fails with
 * `ERR_STATE_REJECTED`; nothing is stored).
 */
export type ApplyEvent = (state: Json, event: Json, ctx: ApplyContext) => Json | undefined;

/** The state of a scope before its first event (version 0). */
export type InitialState = (scope: string) => Json;

/** A reducer as an ES module exports it (`reducerModule`). */
export interface ReducerModule {
  applyEvent: ApplyEvent;
  initialState?: InitialState;
}

/** Run the reducer, turning a refusal into `ERR_STATE_REJECTED`. */
export function applyOrReject(applyEvent: ApplyEvent, state: Json, event: Json, ctx: ApplyContext): Json {
  let next: Json | undefined;
  try {
    next = applyEvent(state, event, ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ResilientSocketError('ERR_STATE_REJECTED', `state event refused: ${message}`, { cause: err, details: { scope: ctx.scope } });
  }
  if (next === undefined) {
    throw new ResilientSocketError('ERR_STATE_REJECTED', 'state event refused', { details: { scope: ctx.scope } });
  }
  return next;
}

/** Check that an imported module looks like a reducer module; throws `ERR_INVALID_OPTION`. */
export function asReducerModule(mod: unknown, where: string): ReducerModule {
  const m = mod as Partial<ReducerModule> | null;
  if (m === null || typeof m !== 'object' || typeof m.applyEvent !== 'function') {
    throw new ResilientSocketError('ERR_INVALID_OPTION', `options.reducerModule (${where}) must export a function applyEvent`);
  }
  if (m.initialState !== undefined && typeof m.initialState !== 'function') {
    throw new ResilientSocketError('ERR_INVALID_OPTION', `options.reducerModule (${where}) exports initialState, but not as a function`);
  }
  return m as ReducerModule;
}
