import { describe, expect, it } from 'vitest';
import { GuardedStorage } from '../../src/storage/guarded-storage.js';
import type { StorageAdapter } from '../../src/storage/storage-adapter.js';
import type { ResilientSocketError } from '../../src/protocol/errors.js';

/** A "disk" whose writes start failing after `okWrites` successful ones (deletes optionally too). */
class FailingDisk implements StorageAdapter {
  readonly map = new Map<string, unknown>();
  writes = 0;
  failDeletes = false;
  failGets = false;
  /** Holds the next `set` until released, to model a write still in flight. */
  hold: { release(): void } | undefined;
  constructor(public okWrites: number) {}
  async get(key: string): Promise<unknown> {
    if (this.failGets) throw new Error('read failed');
    return structuredClone(this.map.get(key));
  }
  async set(key: string, value: unknown): Promise<void> {
    if (this.hold === undefined && this.writes >= this.okWrites) throw new Error('quota exceeded');
    this.writes++;
    if (this.hold) {
      const copy = structuredClone(value);
      await new Promise<void>((resolve) => (this.hold = { release: resolve }));
      this.map.set(key, copy);
      return;
    }
    this.map.set(key, structuredClone(value));
  }
  async delete(key: string): Promise<void> {
    if (this.failDeletes) throw new Error('delete failed');
    this.map.delete(key);
  }
  async keys(prefix = ''): Promise<string[]> {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }
}

const NS = 'resilient-socket:app:';
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
};

function guard(disk: StorageAdapter): { storage: GuardedStorage; failures: ResilientSocketError[] } {
  const failures: ResilientSocketError[] = [];
  return { storage: new GuardedStorage(disk, (e) => failures.push(e), undefined, NS), failures };
}

describe('GuardedStorage after a failure', () => {
  it('deletes the namespace keys left on the adapter, so a reload cannot resurrect a stale record', async () => {
    const disk = new FailingDisk(2);
    disk.map.set(`${NS}state:x`, { old: true }); // written by an earlier instance, never read by this one
    disk.map.set('resilient-socket:other:session', { other: true });
    const { storage, failures } = guard(disk);
    await storage.set(`${NS}session`, { token: 't1', queue: [1] });
    await storage.set(`${NS}positions`, { p: 1 });
    await storage.set(`${NS}session`, { token: 't2', queue: [] }); // fails: quota
    await flush();
    expect(failures.map((e) => e.code)).toEqual(['ERR_STORAGE_FAILED']);
    expect(storage.failed).toBe(true);
    expect([...disk.map.keys()]).toEqual(['resilient-socket:other:session']);
    // The client keeps working in memory with what it wrote last.
    expect(await storage.get(`${NS}session`)).toEqual({ token: 't2', queue: [] });
  });

  it('retries the cleanup on later calls when deletes failed too', async () => {
    const disk = new FailingDisk(1);
    disk.failDeletes = true;
    const { storage } = guard(disk);
    await storage.set(`${NS}session`, { token: 't1' });
    await storage.set(`${NS}session`, { token: 't2' });
    await flush();
    expect(disk.map.has(`${NS}session`)).toBe(true);
    disk.failDeletes = false;
    await storage.set(`${NS}session`, { token: 't3' }); // goes to memory, retries the cleanup
    await flush();
    expect(disk.map.has(`${NS}session`)).toBe(false);
    expect(await storage.get(`${NS}session`)).toEqual({ token: 't3' });
  });

  it('deletes again when a write that was in flight at the failure lands later', async () => {
    const disk = new FailingDisk(1);
    const { storage } = guard(disk);
    await storage.set(`${NS}session`, { token: 't1' });
    disk.hold = { release: () => undefined };
    const slow = storage.set(`${NS}positions`, { p: 1 }); // held in flight
    await flush();
    const held = disk.hold;
    disk.hold = undefined;
    await storage.set(`${NS}session`, { token: 't2' }); // fails: switch, cleanup
    await flush();
    expect(disk.map.has(`${NS}session`)).toBe(false);
    held.release(); // the late write lands after the cleanup
    await slow;
    await flush();
    expect(disk.map.has(`${NS}positions`)).toBe(false);
  });

  it('leaves the stored record alone when the adapter failed before anything was read or written', async () => {
    const disk = new FailingDisk(0);
    disk.map.set(`${NS}session`, { token: 'from-an-earlier-instance' });
    disk.failGets = true;
    const { storage, failures } = guard(disk);
    expect(await storage.get(`${NS}session`)).toBeUndefined();
    await storage.set(`${NS}session`, { token: 'new' });
    await flush();
    expect(failures).toHaveLength(1);
    // This instance never saw that record, so it has not superseded it: a later one may resume it.
    expect(disk.map.get(`${NS}session`)).toEqual({ token: 'from-an-earlier-instance' });
  });
});
