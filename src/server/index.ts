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
