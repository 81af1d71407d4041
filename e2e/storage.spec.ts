import { randomBytes } from 'node:crypto';
import { expect, test } from './fixtures.js';

// The storage conformance checks of test/storage/conformance.ts, run on the real IndexedDB of
// Chromium through the UMD bundle's IndexedDBStorage (the unit tests use fake-indexeddb).
test('IndexedDBStorage from the UMD bundle keeps the storage contract in real Chromium', async ({ browser, server }) => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // Any page that loads the bundle; the demo's own database is not touched.
    await page.goto(`${server.origin}/?room=storage-check`);
    await page.waitForFunction(() => window.ResilientSocket !== undefined);
    const dbName = `conformance-${randomBytes(4).toString('hex')}`;

    const results = await page.evaluate(async (db) => {
      const { IndexedDBStorage } = window.ResilientSocket;
      const a = new IndexedDBStorage({ dbName: db });
      const out: Record<string, unknown> = {};

      out.missing = await a.get('missing');

      const values = [0, 'text', true, null, [1, [2, { x: 'y' }]], { nested: { deep: [1, 2, 3] }, unicode: 'héllo ✓ 🚀' }];
      for (const [i, v] of values.entries()) await a.set(`v${i}`, v);
      out.roundTrip = await Promise.all(values.map((_, i) => a.get(`v${i}`)));
      for (const i of values.keys()) await a.delete(`v${i}`);

      await a.set('k', { v: 1 });
      await a.set('k', { v: 2 });
      out.overwritten = await a.get('k');
      await a.delete('k');
      out.deleted = await a.get('k');
      await a.delete('never-there');

      const value = { list: [1] };
      await a.set('copy', value);
      value.list.push(2);
      const read = (await a.get('copy')) as { list: number[] };
      read.list.push(3);
      out.copy = await a.get('copy');
      await a.delete('copy');

      await Promise.all(Array.from({ length: 20 }, (_, i) => a.set('order', { i })));
      out.order = await a.get('order');
      await a.delete('order');

      const keys = ['resilient-socket:ws://h:1/p:session', 'a/b', 'a\\b', '..', 'x'.repeat(300), 'ü:*?'];
      for (const k of keys) await a.set(k, k);
      out.keysKept = await Promise.all(keys.map((k) => a.get(k)));
      out.allKeys = (await a.keys()).sort();
      out.prefixKeys = await a.keys('resilient-socket:');

      await a.set('durable', { durable: true });
      out.reopened = await new IndexedDBStorage({ dbName: db }).get('durable');
      out.otherDb = await new IndexedDBStorage({ dbName: `${db}-other` }).get('durable');

      out.expectedKeys = [...keys].sort();
      out.keys = keys;
      out.values = values;
      return out;
    }, dbName);

    expect(results.missing).toBeUndefined();
    expect(results.roundTrip).toEqual(results.values);
    expect(results.overwritten).toEqual({ v: 2 });
    expect(results.deleted).toBeUndefined();
    expect(results.copy).toEqual({ list: [1] });
    expect(results.order).toEqual({ i: 19 });
    expect(results.keysKept).toEqual(results.keys);
    expect(results.allKeys).toEqual(results.expectedKeys);
    expect(results.prefixKeys).toEqual(['resilient-socket:ws://h:1/p:session']);
    expect(results.reopened).toEqual({ durable: true });
    expect(results.otherDb).toBeUndefined();

    await page.evaluate(async (db) => {
      for (const name of [db, `${db}-other`]) {
        await new Promise<void>((resolve) => {
          const req = indexedDB.deleteDatabase(name);
          req.onsuccess = req.onerror = req.onblocked = () => resolve();
        });
      }
    }, dbName);
  } finally {
    await context.close();
  }
});
