/**
 * The public `createServer({ state })` option: versioned, event-sourced state per session and per
 * room (docs/state.md). It builds the state service over the server's own store and gives the
 * server a handle on the engine for `appendState` / `getState`.
 */
import type { Json } from '../protocol/index.js';
import { ResilientSocketError } from '../protocol/index.js';
import type { Logger } from './options.js';
import type { StateServiceFactory } from './state-service.js';
import { engineStateService } from './state/engine-state-service.js';
import type { StateEngine } from './state/state-engine.js';
import type { StateEngineOptions } from './state/engine-options.js';

/**
 * Options of `createServer({ state })`. The reducer receives, for a client's `dispatch()`, the
 * envelope `{ from, user, data }` (`StateEventEnvelope`: sender session, its user, the client's
 * event); for the server's own `appendState()`, `{ from: null, user: null, data }`
 * (`ServerEventEnvelope`).
 */
export interface ServerStateOptions
  extends Pick<
    StateEngineOptions,
    'workers' | 'workerThreshold' | 'snapshotEvery' | 'snapshotIntervalMs' | 'compressThreshold' | 'historySize' | 'maxCachedScopes'
  > {
  /** The reducer: `(state, event, ctx) => next` (throw or return `undefined` to refuse). Required unless `reducerModule` exports it. */
  applyEvent?: StateEngineOptions['applyEvent'];
  /** The state of a scope at version 0 (default: `reducerModule`'s `initialState`, else `null`). */
  initialState?: StateEngineOptions['initialState'];
  /** A plain JS ES module (path or file URL) exporting `applyEvent`: long rebuilds then run in worker threads. Default: none (inline rebuilds). */
  reducerModule?: string | URL;
  /** ms after which an unacknowledged state version is sent again (full). Default 5000. */
  retransmitMs?: number;
  /** Give every session a private `session` scope. Default true. */
  sessionState?: boolean;
  /** Give every room a shared `room:<name>` scope. Default true. */
  roomState?: boolean;
}

const KEYS: ReadonlySet<string> = new Set([
  'applyEvent',
  'initialState',
  'reducerModule',
  'workers',
  'workerThreshold',
  'snapshotEvery',
  'snapshotIntervalMs',
  'compressThreshold',
  'historySize',
  'maxCachedScopes',
  'retransmitMs',
  'sessionState',
  'roomState',
]);

/** The state service factory of `createServer`, and the engine once the server built it. @internal */
export interface StateOptionService {
  factory: StateServiceFactory;
  /** The engine, available once `factory` ran. */
  engine(): StateEngine;
}

function invalid(message: string): ResilientSocketError {
  return new ResilientSocketError('ERR_INVALID_OPTION', message);
}

/**
 * Check the shape of `options.state` early (unknown keys, the reducer); the engine checks the
 * numbers when the server builds it. @internal
 */
export function checkStateOption(state: unknown): asserts state is ServerStateOptions {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw invalid('options.state must be an object');
  for (const key of Object.keys(state)) if (!KEYS.has(key)) throw invalid(`options.state.${key} is not an option`);
  const s = state as ServerStateOptions;
  if (s.applyEvent === undefined && s.reducerModule === undefined) throw invalid('options.state.applyEvent or options.state.reducerModule is required');
  for (const name of ['applyEvent', 'initialState'] as const) {
    if (s[name] !== undefined && typeof s[name] !== 'function') throw invalid(`options.state.${name} must be a function`);
  }
  for (const name of ['workers', 'workerThreshold', 'snapshotEvery', 'snapshotIntervalMs', 'compressThreshold', 'historySize', 'maxCachedScopes', 'retransmitMs'] as const) {
    const v = s[name];
    const min = name === 'snapshotIntervalMs' || name === 'compressThreshold' ? 0 : 1;
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)) throw invalid(`options.state.${name} must be an integer >= ${min}`);
  }
  for (const name of ['sessionState', 'roomState'] as const) {
    if (s[name] !== undefined && typeof s[name] !== 'boolean') throw invalid(`options.state.${name} must be a boolean`);
  }
}

/** Build the state service for `options.state`; background failures go to the logger. @internal */
export function stateOptionService(state: ServerStateOptions, logger: Logger): StateOptionService {
  checkStateOption(state);
  const { retransmitMs, ...rest } = state;
  const inner = engineStateService({
    ...rest,
    ...(retransmitMs === undefined ? {} : { stateRetransmit: retransmitMs }),
    onError: (err) => logger.warn({ err }, 'state: background failure'),
  });
  let engine: StateEngine | undefined;
  return {
    factory: (deps) => {
      const service = inner(deps);
      // The engine service exposes its engine; the server needs it for appendState/getState.
      engine = (service as unknown as { engine: StateEngine }).engine;
      return service;
    },
    engine: () => {
      if (engine === undefined) throw new ResilientSocketError('ERR_NO_STATE', 'the state engine is not started');
      return engine;
    },
  };
}

/**
 * What the reducer receives as `event` for `server.appendState(scope, event)`: the same shape as
 * a client's `StateEventEnvelope`, without a sender. A reducer of a server that appends events
 * itself sees `StateEventEnvelope | ServerEventEnvelope`.
 */
export interface ServerEventEnvelope {
  [key: string]: Json;
  from: null;
  user: null;
  /** The `event` passed to `appendState`. */
  data: Json;
}

/** The envelope of a server-side append. @internal */
export function serverEnvelope(event: Json): ServerEventEnvelope {
  return { from: null, user: null, data: event };
}
