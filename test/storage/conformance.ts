/**
 * One conformance suite for every client storage adapter: the contract in
 * src/storage/storage-adapter.ts. Call `storageConformance(name, factory)` from an adapter's test.
 */
import { describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../../src/storage/storage-adapter.js';

/** Creates a fresh, empty adapter; `reopen` (when given) creates a second adapter on the same data. */
export interface AdapterFactory {
  create(): Promise<{ adapter: StorageAdapter; reopen?: () => StorageAdapter; cleanup?: () => Promise<void> }>;
}

export function storageConformance(name: string, factory: AdapterFactory): void {
  describe(`storage conformance: ${name}`, () => {
    const withAdapter = (fn: (a: StorageAdapter, reopen?: () => StorageAdapter) => Promise<void>) => async () => {
      const { adapter, reopen, cleanup } = await factory.create();
      try {
        await fn(adapter, reopen);
      } finally {
        await cleanup?.();
      }
    };

    it('returns undefined for a missing key', withAdapter(async (a) => {
      expect(await a.get('missing')).toBeUndefined();
    }));

    it('round-trips JSON values of every shape', withAdapter(async (a) => {
      const values = [0, 'text', true, null, [1, [2, { x: 'y' }]], { nested: { deep: [1, 2, 3] }, unicode: 'héllo ✓ 🚀' }];
      for (const [i, v] of values.entries()) await a.set(`k${i}`, v);
      for (const [i, v] of values.entries()) expect(await a.get(`k${i}`)).toEqual(v);
    }));

    it('overwrites and deletes; deleting a missing key is not an error', withAdapter(async (a) => {
      await a.set('k', { v: 1 });
      await a.set('k', { v: 2 });
      expect(await a.get('k')).toEqual({ v: 2 });
      await a.delete('k');
      expect(await a.get('k')).toBeUndefined();
      await a.delete('never-there');
    }));

    it('stores a copy: mutating the object after set changes nothing stored', withAdapter(async (a) => {
      const value = { list: [1] };
      await a.set('k', value);
      value.list.push(2);
      const read = (await a.get('k')) as { list: number[] };
      expect(read).toEqual({ list: [1] });
      read.list.push(3);
      expect(await a.get('k')).toEqual({ list: [1] });
    }));

    it('applies concurrent writes to one key in call order', withAdapter(async (a) => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => a.set('k', { i })));
      expect(await a.get('k')).toEqual({ i: 19 });
    }));

    it('keeps keys apart, including keys with path-like and odd characters', withAdapter(async (a) => {
      const keys = ['resilient-socket:ws://h:1/p:session', 'a/b', 'a\\b', '..', 'x'.repeat(300), 'ü:*?'];
      for (const k of keys) await a.set(k, k);
      for (const k of keys) expect(await a.get(k)).toBe(k);
      if (a.keys) {
        expect((await a.keys()).sort()).toEqual([...keys].sort());
        expect(await a.keys('resilient-socket:')).toEqual(['resilient-socket:ws://h:1/p:session']);
      }
    }));

    it('keeps data across adapter instances on the same backing store', withAdapter(async (a, reopen) => {
      if (!reopen) return;
      await a.set('k', { durable: true });
      expect(await reopen().get('k')).toEqual({ durable: true });
    }));
  });
}
