import { afterEach, describe, expect, it } from 'vitest';
import { claimSessionSlot } from '../../src/client/session-slot.js';
import type { LockManagerLike } from '../../src/client/session-slot.js';
import { deriveSessionKey } from '../../src/client/socket-utils.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { connect, startServer, teardownAll, waitFor } from './integration-helpers.js';

/** An in-process `navigator.locks` (exclusive locks, `ifAvailable` only), as a browser origin shares it between tabs. */
class FakeLocks implements LockManagerLike {
  readonly held = new Set<string>();
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => unknown): Promise<unknown> {
    expect(options.ifAvailable).toBe(true);
    if (this.held.has(name)) return Promise.resolve().then(() => callback(null));
    this.held.add(name);
    return Promise.resolve()
      .then(() => callback({ name, mode: 'exclusive' }))
      .finally(() => this.held.delete(name));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('session slots', () => {
  it('claims the lowest free slot of the key and gives it back on release', async () => {
    const locks = new FakeLocks();
    const a = await claimSessionSlot('app', { locks }, Math.random);
    const b = await claimSessionSlot('app', { locks }, Math.random);
    const c = await claimSessionSlot('app', { locks }, Math.random);
    expect([a.key, b.key, c.key]).toEqual(['app', 'app#1', 'app#2']);
    expect([...locks.held].sort()).toEqual(['resilient-socket:app', 'resilient-socket:app#1', 'resilient-socket:app#2']);
    a.release();
    await settle();
    expect(locks.held.has('resilient-socket:app')).toBe(false);
    // A reload of the first tab finds its slot again; the others keep theirs.
    const reloaded = await claimSessionSlot('app', { locks }, Math.random);
    expect(reloaded.key).toBe('app');
    expect(locks.held.size).toBe(3);
  });

  it("takes the tab's own slot again after a reload, even when a lower one is free", async () => {
    const locks = new FakeLocks();
    const tabA = new Map<string, string>();
    const tabB = new Map<string, string>();
    const memo = (m: Map<string, string>) => ({ getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) });
    const a = await claimSessionSlot('app', { locks, sessionStorage: memo(tabA) }, Math.random);
    const b = await claimSessionSlot('app', { locks, sessionStorage: memo(tabB) }, Math.random);
    expect([a.key, b.key]).toEqual(['app', 'app#1']);
    // Tab A is closed; tab B reloads: B resumes its own session, not A's.
    a.release();
    b.release();
    await settle();
    expect((await claimSessionSlot('app', { locks, sessionStorage: memo(tabB) }, Math.random)).key).toBe('app#1');
    // A duplicated tab copies sessionStorage: its remembered slot is busy, it takes the lowest free one.
    const duplicate = new Map(tabB);
    expect((await claimSessionSlot('app', { locks, sessionStorage: memo(duplicate) }, Math.random)).key).toBe('app');
    expect(duplicate.get('resilient-socket:app:slots')).toBe('1,0');
  });

  it('gives two clients of one tab the same slots back after a reload, in creation order', async () => {
    const locks = new FakeLocks();
    const tab = new Map<string, string>();
    const memo = { getItem: (k: string) => tab.get(k) ?? null, setItem: (k: string, v: string) => void tab.set(k, v) };
    const first = await Promise.all([claimSessionSlot('app', { locks, sessionStorage: memo }, Math.random), claimSessionSlot('app', { locks, sessionStorage: memo }, Math.random)]);
    expect(first.map((s) => s.key)).toEqual(['app', 'app#1']);
    expect(tab.get('resilient-socket:app:slots')).toBe('0,1');
    for (const slot of first) slot.release();
    await settle();
    const again = await Promise.all([claimSessionSlot('app', { locks, sessionStorage: memo }, Math.random), claimSessionSlot('app', { locks, sessionStorage: memo }, Math.random)]);
    expect(again.map((s) => s.key)).toEqual(['app', 'app#1']);
    // A sessionStorage that throws (a sandboxed frame) only loses the memory.
    const refusing = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); } };
    expect((await claimSessionSlot('app', { locks, sessionStorage: refusing }, Math.random)).key).toBe('app#2');
  });

  it('uses the key as given without a lock manager, or when the lock manager refuses', async () => {
    expect((await claimSessionSlot('app', { locks: null }, Math.random)).key).toBe('app');
    const refusing: LockManagerLike = { request: () => Promise.reject(new DOMException('opaque origin', 'SecurityError')) };
    const slot = await claimSessionSlot('app', { locks: refusing }, Math.random);
    expect(slot.key).toBe('app');
    expect(slot.held).toBe(false);
  });

  it('falls back to a random key nobody shares once 32 slots are taken', async () => {
    const locks = new FakeLocks();
    const keys: string[] = [];
    for (let i = 0; i < 32; i++) keys.push((await claimSessionSlot('app', { locks }, Math.random)).key);
    expect(new Set(keys).size).toBe(32);
    const extra = await claimSessionSlot('app', { locks }, () => 0.5);
    expect(keys).not.toContain(extra.key);
    expect(extra.key.startsWith('app#')).toBe(true);
    expect(extra.held).toBe(false);
  });

  it('keeps the lock until the last storage write settled, and a reclaim before then keeps it', async () => {
    const locks = new FakeLocks();
    const slot = await claimSessionSlot('app', { locks }, Math.random);
    let written!: () => void;
    slot.release(new Promise<void>((r) => (written = r)));
    await settle();
    expect(locks.held.has('resilient-socket:app')).toBe(true);
    written();
    await settle();
    expect(locks.held.has('resilient-socket:app')).toBe(false);
    // reconnect() after close(): the same slot is held again.
    slot.reclaim();
    await settle();
    expect(slot.held).toBe(true);
    expect(locks.held.has('resilient-socket:app')).toBe(true);
    // A release still waiting for its writes is cancelled by a reclaim.
    let written2!: () => void;
    slot.release(new Promise<void>((r) => (written2 = r)));
    slot.reclaim();
    written2();
    await settle();
    expect(slot.held).toBe(true);
    expect(locks.held.has('resilient-socket:app')).toBe(true);
  });
});

describe('ReconnectingWebSocket with session slots', () => {
  afterEach(teardownAll);

  it('gives a second tab on shared storage its own session (no 4002), and a reloaded tab resumes its own', async () => {
    const server = await startServer();
    const locks = new FakeLocks();
    const disk = new MemoryStorage(); // one origin's IndexedDB, shared by its tabs
    const key = deriveSessionKey(server.url);
    const first = connect(server.url, { storage: disk, environment: { locks } });
    await first.opened();
    await first.ws.join('r');
    const second = connect(server.url, { storage: disk, environment: { locks } });
    await second.opened();
    await second.ws.join('r');
    expect(second.ws.sessionId).not.toBe(first.ws.sessionId);
    expect([...locks.held].sort()).toEqual([`resilient-socket:${key}`, `resilient-socket:${key}#1`]);

    await first.ws.send('from-first', { room: 'r' });
    await second.ws.send('from-second', { room: 'r' });
    await waitFor(() => first.ids('r').length === 2 && second.ids('r').length === 2, 'both messages in both tabs');
    expect(first.ids('r')).toEqual(second.ids('r'));
    expect(first.ws.status).toBe('open');
    expect(first.errors).not.toContain('ERR_SESSION_TAKEN_OVER');

    // "Reload" of the first tab: its instance stops (the page unload frees its lock) and a new one starts.
    const firstSession = first.ws.sessionId;
    first.ws.close(1000, '', { endSession: false });
    await waitFor(() => !locks.held.has(`resilient-socket:${key}`), 'the first slot released');
    const reloaded = connect(server.url, { storage: disk, environment: { locks } });
    await reloaded.opened();
    expect(reloaded.opens[0]).toEqual({ recovered: true });
    expect(reloaded.ws.sessionId).toBe(firstSession);
    await reloaded.ws.send('after-reload', { room: 'r' });
    await waitFor(() => second.ids('r').length === 3, 'the message after the reload');
    expect(second.ws.status).toBe('open');
    expect(second.opens).toHaveLength(1);
  });

  it('with environment.locks null uses the key as given (two clients then share one session)', async () => {
    const server = await startServer();
    const disk = new MemoryStorage();
    const a = connect(server.url, { storage: disk, environment: { locks: null }, sessionKey: 'shared' });
    await a.opened();
    a.ws.close(1000, '', { endSession: false });
    await waitFor(() => a.ws.status === 'closed', 'the first closed');
    const b = connect(server.url, { storage: disk, environment: { locks: null }, sessionKey: 'shared' });
    await b.opened();
    expect(b.opens[0]).toEqual({ recovered: true });
    expect(await disk.get('resilient-socket:shared:session')).toBeTruthy();
  });

  it('an explicit sessionKey is slotted too, and close() ending the session frees the slot', async () => {
    const server = await startServer();
    const locks = new FakeLocks();
    const disk = new MemoryStorage();
    const a = connect(server.url, { storage: disk, environment: { locks }, sessionKey: 'chat' });
    const b = connect(server.url, { storage: disk, environment: { locks }, sessionKey: 'chat' });
    await Promise.all([a.opened(), b.opened()]);
    expect(a.ws.sessionId).not.toBe(b.ws.sessionId);
    await waitFor(() => disk.get('resilient-socket:chat:session') !== undefined && disk.get('resilient-socket:chat#1:session') !== undefined, 'both sessions stored');
    b.ws.close();
    await waitFor(() => !locks.held.has('resilient-socket:chat#1'), 'the slot released after the session ended');
    expect(disk.get('resilient-socket:chat#1:session')).toBeUndefined();
    expect(locks.held.has('resilient-socket:chat')).toBe(true);
  });

  it('close() frees the slot, reconnect() takes the same one back, and startClosed holds its slot from the start', async () => {
    const server = await startServer();
    const locks = new FakeLocks();
    const disk = new MemoryStorage();
    const a = connect(server.url, { storage: disk, environment: { locks }, sessionKey: 'k', startClosed: true });
    await waitFor(() => a.ws.sessionKey !== undefined, 'the slot claimed');
    expect(a.ws.sessionKey).toBe('k');
    expect(locks.held.has('resilient-socket:k')).toBe(true);
    const opened = a.opened();
    a.ws.reconnect();
    await opened;
    a.ws.close();
    await waitFor(() => !locks.held.has('resilient-socket:k'), 'the slot released');
    const reopened = a.opened();
    a.ws.reconnect();
    await reopened;
    expect(a.ws.sessionKey).toBe('k');
    expect(locks.held.has('resilient-socket:k')).toBe(true);
    // A client started meanwhile gets the next slot.
    const b = connect(server.url, { storage: disk, environment: { locks }, sessionKey: 'k' });
    await b.opened();
    expect(b.ws.sessionKey).toBe('k#1');
  });
});
