// IndexedDB in Node through fake-indexeddb (test-only shim); the browser work runs it for real.
import { IDBFactory } from 'fake-indexeddb';
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { IndexedDBStorage } from '../../src/storage/indexeddb-storage.js';
import { defaultStorage } from '../../src/storage/default-storage.js';
import { storageConformance } from './conformance.js';

let n = 0;
storageConformance('IndexedDBStorage (fake-indexeddb)', {
  create: async () => {
    const dbName = `test-${++n}`;
    return { adapter: new IndexedDBStorage({ dbName }), reopen: () => new IndexedDBStorage({ dbName }) };
  },
});

describe('defaultStorage', () => {
  it('is IndexedDB where indexedDB exists', () => {
    expect(globalThis.indexedDB).toBeInstanceOf(IDBFactory);
    expect(defaultStorage()).toBeInstanceOf(IndexedDBStorage);
  });
});
