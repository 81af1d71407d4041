/** Versioned, event-sourced server state: the engine, its worker pool and the blob codec. */
export { StateEngine } from './state-engine.js';
export type { VersionedValue, StateAppended, StateAppendOutcome, StateChanges, RebuildMode } from './state-engine.js';
export type { StateEngineOptions } from './engine-options.js';
export { StateFeed } from './state-feed.js';
export { engineStateService } from './engine-state-service.js';
export type { EngineStateServiceOptions, StateEventEnvelope } from './engine-state-service.js';
export type { StateFeedOptions } from './state-feed.js';
export { StateWorkerPool, reducerModuleUrl } from './worker-pool.js';
export type { StateWorkerPoolOptions, RebuildTask, RebuildResult } from './worker-pool.js';
export { encodeBlob, decodeBlob, DEFAULT_COMPRESS_THRESHOLD } from './blob-codec.js';
export type { ApplyEvent, ApplyContext, InitialState, ReducerModule } from './reducer.js';
