/** Client storage adapters (no Node built-ins: the browser bundle includes this). */
export { MemoryStorage } from './memory-storage.js';
export { IndexedDBStorage } from './indexeddb-storage.js';
export type { IndexedDBStorageOptions } from './indexeddb-storage.js';
export { defaultStorage } from './default-storage.js';
export type { StorageAdapter, MaybePromise } from './storage-adapter.js';
