import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { newSessionId } from '../../src/server/sessions.js';
import { KEEP_ALL, entry, session } from './conformance-context.js';

describe('MemoryStore compact sessions', () => {
  const stores: MemoryStore[] = [];
  const make = (): MemoryStore => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('returns every field as stored: unusual token hashes, room names, offsets and unicode survive', async () => {
    const store = make();
    const record = session('s1', {
      tokenHash: 'not-a-hex-digest',
      prevTokenHash: 'c'.repeat(64),
      user: 'zoë',
      rooms: { ['__proto__']: { epoch: 'e1', offset: 2 ** 40 }, 'ü 🚀': { epoch: 'e2', offset: 0 } },
      positions: { 'session:s1': { epoch: 'e3', offset: 7 }, 'room:ü 🚀': { epoch: 'e2', offset: 1.5 }, 'session:other': { epoch: 'e4', offset: 1 } },
      lastSeq: 12,
      createdAt: 1_700_000_000_123,
    });
    await store.createSession(record);
    const got = await store.getSession('s1');
    expect(got).toEqual(record);
    expect(Object.keys(got!.rooms)).toEqual(['__proto__', 'ü 🚀']);
    expect(Object.getPrototypeOf(got!.rooms)).toBe(Object.prototype);
    await store.updateSession('s1', { tokenHash: 'd'.repeat(64), positions: {} });
    expect(await store.getSession('s1')).toEqual({ ...record, tokenHash: 'd'.repeat(64), positions: {} });
  });

  it('keeps the epoch a new session read for its direct stream until the stream is written, then writes under it', async () => {
    const store = make();
    const before = await store.info('session:s1');
    await store.createSession(session('s1', { positions: { 'session:s1': { epoch: before.epoch, offset: before.lastOffset } } }));
    expect(await store.info('session:s1')).toEqual(before);
    expect((await store.read('session:s1', 0, 10)).info).toEqual(before);
    const appended = await store.append('session:s1', entry('m1'), KEEP_ALL);
    expect(appended.status === 'appended' && appended.entry).toMatchObject({ epoch: before.epoch, offset: 1 });
    // Deleting it loses its history: it comes back under a new epoch.
    await store.deleteStream('session:s1');
    const after = await store.info('session:s1');
    expect(after).toMatchObject({ firstOffset: 1, lastOffset: 0 });
    expect(after.epoch).not.toBe(before.epoch);
  });

  it('gives a direct stream deleted before it was written a new epoch too', async () => {
    const store = make();
    const before = await store.info('session:s1');
    await store.createSession(session('s1'));
    await store.deleteStream('session:s1');
    expect((await store.info('session:s1')).epoch).not.toBe(before.epoch);
  });

  it('keeps a detached session whole: read, counted, changed, attached again and expired as before', async () => {
    let time = 1_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
    stores.push(store);
    const record = session('s1', { user: 'ann', prevTokenHash: 'e'.repeat(64), rooms: { r: { epoch: 'e1', offset: 4 } }, positions: { 'room:r': { epoch: 'e1', offset: 6 } }, lastSeq: 3 });
    await store.createSession(record);
    await store.createSession(session('s2', { user: 'ann' }));
    expect(await store.detachSession('s1', record.owner!, 500)).toBe(true);
    const detached = { ...record, owner: null, expiresAt: 1_500 };
    expect(await store.getSession('s1')).toEqual(detached);
    expect(await store.countUserSessions('ann')).toBe(2);
    expect(await store.countUserSessions('an')).toBe(0);
    expect(await store.countUserSessions('anne')).toBe(0);
    await store.createSession(session('s3', { user: 'zoë 🚀', owner: 'o' }));
    await store.detachSession('s3', 'o', 500);
    expect(await store.countUserSessions('zoë 🚀')).toBe(1);
    await store.deleteSession('s3');
    expect(await store.updateSession('s1', { positions: { 'room:r': { epoch: 'e1', offset: 9 } } })).toBe(true);
    expect(await store.advanceSeq('s1', 4)).toEqual({ status: 'ok' });
    const changed = { ...detached, positions: { 'room:r': { epoch: 'e1', offset: 9 } }, lastSeq: 4 };
    expect(await store.getSession('s1')).toEqual(changed);
    expect(await store.attachSession('s1', 'i/c2')).toBeNull();
    expect(await store.getSession('s1')).toEqual({ ...changed, owner: 'i/c2', expiresAt: null });
    await store.detachSession('s1', 'i/c2', 100);
    time = 1_100;
    expect(await store.wasExpired('s1')).toBe(true);
    expect(await store.getSession('s1')).toBeNull();
    expect(await store.countUserSessions('ann')).toBe(1);
    expect(await store.takeExpiredSessions(time, 10)).toEqual(['s1']);
    expect(await store.wasExpired('s1')).toBe(false);
  });

  it('parks sessions under server-made ids and any other id alike, and hands the same ids back', async () => {
    let time = 1_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
    stores.push(store);
    const ids = [newSessionId(), newSessionId(), 'short', '\u0100odd', 'A'.repeat(22)];
    for (const id of ids) {
      await store.createSession(session(id, { owner: 'o' }));
      expect(await store.detachSession(id, 'o', 100)).toBe(true);
      expect(await store.getSession(id)).toMatchObject({ id, owner: null, expiresAt: 1_100 });
    }
    time = 1_100;
    expect((await store.takeExpiredSessions(time, 10)).sort()).toEqual(ids.slice().sort());
  });

  it('parks expiries counted from creation or absolute, and epochs as bytes or text, exactly', async () => {
    let time = 10_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
    stores.push(store);
    const epoch = 'AbC_-9xyz0Q';
    const record = session('s1', { createdAt: 9_000, owner: 'o', rooms: { r: { epoch, offset: 1 } }, positions: { 'room:r': { epoch, offset: 2 }, 'room:q': { epoch: 'AbC_-9xyz0', offset: 3 } } });
    await store.createSession(record);
    await store.detachSession('s1', 'o', 250);
    expect(await store.getSession('s1')).toEqual({ ...record, owner: null, expiresAt: 10_250 });
    await store.attachSession('s1', 'o');
    time = 10_000.5;
    await store.detachSession('s1', 'o', 0.25);
    expect(await store.getSession('s1')).toEqual({ ...record, owner: null, expiresAt: 10_000.75 });
    expect(await store.takeExpiredSessions(10_000.7, 10)).toEqual([]);
    expect(await store.takeExpiredSessions(10_000.75, 10)).toEqual(['s1']);
  });
});

describe('MemoryStore keeps detached sessions parked', () => {
  it('after dedup appends (accepted, duplicate, out of order) and a state conflict on them', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    try {
      const id = newSessionId();
      await store.createSession({ id, tokenHash: 'a'.repeat(64), user: null, rooms: {}, positions: {}, lastSeq: 0, createdAt: Date.now(), owner: 'i/1', expiresAt: null });
      await store.detachSession(id, 'i/1', 60_000);
      expect(store.parkedSessions).toBe(1);
      const retention = { maxCount: 100, maxAgeMs: 60_000 };
      const input = { id: 'm1', from: id, user: null, data: 1 };
      expect((await store.append('room:r', input, retention, { sessionId: id, seq: 1 })).status).toBe('appended');
      expect(store.parkedSessions).toBe(1);
      expect((await store.append('room:r', input, retention, { sessionId: id, seq: 1 })).status).toBe('duplicate');
      expect((await store.append('room:r', input, retention, { sessionId: id, seq: 5 })).status).toBe('out_of_order');
      expect(store.parkedSessions).toBe(1);
      expect((await store.appendStateEvent('room:r', 7, { v: 1 } as never, { sessionId: id, seq: 2 })).status).toBe('conflict');
      expect(store.parkedSessions).toBe(1);
      expect((await store.getSession(id))?.lastSeq).toBe(1);
      expect(store.parkedSessions).toBe(1);
    } finally {
      await store.close();
    }
  });
});
