import { IndexedDBStorage } from './indexeddb-storage.js';
import { MemoryStorage } from './memory-storage.js';
import type { StorageAdapter } from './storage-adapter.js';

/** IndexedDB where the runtime has it (browsers), memory otherwise (Node.js). */
export function defaultStorage(): StorageAdapter {
  return typeof (globalThis as { indexedDB?: unknown }).indexedDB === 'object' && (globalThis as { indexedDB?: unknown }).indexedDB !== null
    ? new IndexedDBStorage()
    : new MemoryStorage();
}
