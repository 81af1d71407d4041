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

describe('IndexedDBStorage', () => {
  it('does not block deleting its database (another tab, a test) and reopens it on next use', async () => {
    const dbName = `test-delete-${++n}`;
    const a = new IndexedDBStorage({ dbName });
    await a.set('k', 1);
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(dbName);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('deleteDatabase blocked by the open adapter'));
    });
    expect(await a.get('k')).toBeUndefined();
    await a.set('k', 2);
    expect(await a.get('k')).toBe(2);
    expect(await a.keys()).toEqual(['k']);
  });
});
