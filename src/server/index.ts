/** The reference server: `import { createServer } from 'resilient-socket/server'`. */
export { createServer, ReferenceServer } from './server.js';
export type { InternalOptions } from './server.js';
export { MemoryStore } from './stores/memory.js';
export type { MemoryStoreOptions } from './stores/memory.js';
export type {
  ServerOptions,
  Logger,
  Authenticate,
  AuthenticateInput,
  OnMessage,
  SessionExpired,
  SessionEndReason,
  RedisStoreOption,
} from './options.js';
export type { ConnectionContext } from './context.js';
export type { HttpHandler } from './http.js';
export type { StateService, StateServiceFactory, StateServiceDeps, StateConnection, StateFrame } from './state-service.js';
export type { ServerStateOptions, ServerEventEnvelope } from './state-option.js';
export { StateEngine } from './state/state-engine.js';
export type { VersionedValue, StateAppended, StateAppendOutcome, StateChanges } from './state/state-engine.js';
export type { StateEngineOptions } from './state/engine-options.js';
export { StateWorkerPool } from './state/worker-pool.js';
export type { StateWorkerPoolOptions } from './state/worker-pool.js';
export type { StateEventEnvelope } from './state/engine-state-service.js';
export type { ApplyEvent, ApplyContext, InitialState, ReducerModule } from './state/reducer.js';
export type {
  Store,
  SessionRecord,
  SessionUpdate,
  Retention,
  EntryInput,
  StreamEntry,
  StreamInfo,
  Dedup,
  DedupStatus,
  AppendResult,
  AdvanceResult,
  Blob,
  StoredStateEvent,
  Snapshot,
  StateAppendResult,
  ControlMessage,
  EntryListener,
  VersionListener,
} from './stores/store.js';
