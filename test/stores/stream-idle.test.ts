/**
 * Idle streams leave the store: history once it has aged out (without waiting for the next touch),
 * the epoch and last offset once the stream has been idle past its idle limit. The same suite runs
 * against the memory store and a real Redis (unique prefix, only its own keys deleted), on the
 * real clock with small limits: waits are bounded polls, never timing assertions.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { Retention, Store } from '../../src/server/stores/store.js';
import { entry } from './conformance-context.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

/** A store under test, and a look at what it holds that touches nothing. */
interface Probe {
  store: Store;
  hasHistory(stream: string): Promise<boolean>;
  hasMeta(stream: string): Promise<boolean>;
  close(): Promise<void>;
}

type Maker = (options: { streamIdleTtlMs?: number }) => Promise<Probe>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Long enough that a busy machine's stalls do not make an active stream look idle. */
const ACTIVE_IDLE_MS = 600;

function idleSuite(name: string, enabled: boolean, make: Maker): void {
  describe.skipIf(!enabled)(`${name}: idle streams`, () => {
    let probe: Probe | undefined;
    const open = async (options: { streamIdleTtlMs?: number } = {}): Promise<Probe> => (probe = await make(options));
    afterEach(async () => {
      await probe?.close();
      probe = undefined;
    });

    it('drops an idle stream\'s history once it has aged out, untouched, and keeps its epoch and offsets', async () => {
      const { store, hasHistory, hasMeta } = await open();
      const retention: Retention = { maxCount: 100, maxAgeMs: 100, idleTtlMs: 60_000 };
      let epoch = '';
      for (const id of ['m1', 'm2', 'm3']) {
        const result = await store.append('room:aged', entry(id), retention);
        if (result.status === 'appended') epoch = result.entry.epoch;
      }
      await eventually(async () => !(await hasHistory('room:aged')), 'the history to leave the store');
      expect(await hasMeta('room:aged')).toBe(true);
      // A client at offset 3 missed nothing: same epoch, nothing retained after it, no gap.
      expect(await store.info('room:aged')).toEqual({ epoch, firstOffset: 4, lastOffset: 3 });
    });

    it('forgets a stream idle past its limit: its next use starts a new epoch at offset 1', async () => {
      const { store, hasHistory, hasMeta } = await open();
      // The server keeps idle limits >= age limits; a shorter one leaves Redis's history key to its own expiry.
      const first = await store.append('room:idle', entry('m1'), { maxCount: 100, maxAgeMs: 100, idleTtlMs: 150 });
      expect(first.status).toBe('appended');
      const oldEpoch = first.status === 'appended' ? first.entry.epoch : '';
      await eventually(async () => !(await hasMeta('room:idle')) && !(await hasHistory('room:idle')), 'the stream to be forgotten');
      const info = await store.info('room:idle');
      expect(info.epoch).not.toBe(oldEpoch);
      expect(info).toMatchObject({ firstOffset: 1, lastOffset: 0 });
      const next = await store.append('room:idle', entry('m2'), { maxCount: 100, maxAgeMs: 60_000, idleTtlMs: 150 });
      expect(next).toMatchObject({ status: 'appended', entry: { epoch: info.epoch, offset: 1, id: 'm2' } });
    });

    it('keeps the epoch of a stream that is read across several idle limits', async () => {
      const { store, hasMeta } = await open();
      const first = await store.append('room:read', entry('m1'), { maxCount: 100, maxAgeMs: 60_000, idleTtlMs: ACTIVE_IDLE_MS });
      const epoch = first.status === 'appended' ? first.entry.epoch : '';
      const until = Date.now() + 3 * ACTIVE_IDLE_MS;
      while (Date.now() < until) {
        await sleep(ACTIVE_IDLE_MS / 6);
        const { info, entries } = await store.read('room:read', 0, 10);
        expect(info.epoch).toBe(epoch);
        expect(entries.map((e) => e.id)).toEqual(['m1']);
      }
      expect(await hasMeta('room:read')).toBe(true);
    });

    it('never forgets a stream with a subscriber; the idle time starts when the last one leaves', async () => {
      const { store, hasMeta } = await open();
      const listener = (): void => undefined;
      // One stream touched alone first, then several together (a regression: the batch was refused).
      await store.subscribe('room:before', listener);
      await store.unsubscribe('room:before', listener);
      const retention: Retention = { maxCount: 100, maxAgeMs: 60_000, idleTtlMs: ACTIVE_IDLE_MS };
      const epochs: string[] = [];
      for (const stream of ['room:member', 'room:member-2']) {
        await store.subscribe(stream, listener);
        const first = await store.append(stream, entry('m1'), retention);
        epochs.push(first.status === 'appended' ? first.entry.epoch : '');
      }
      await sleep(3 * ACTIVE_IDLE_MS);
      expect([await hasMeta('room:member'), await hasMeta('room:member-2')]).toEqual([true, true]);
      expect([(await store.info('room:member')).epoch, (await store.info('room:member-2')).epoch]).toEqual(epochs);
      await store.unsubscribe('room:member', listener);
      await eventually(async () => !(await hasMeta('room:member')), 'the stream to be forgotten after its last subscriber left');
    });

    it('forgets a stream only ever read after the store\'s default idle limit', async () => {
      const { store, hasMeta } = await open({ streamIdleTtlMs: 150 });
      const { epoch } = await store.info('room:looked-at');
      expect(await hasMeta('room:looked-at')).toBe(true);
      await eventually(async () => !(await hasMeta('room:looked-at')), 'the read-only stream to be forgotten');
      expect((await store.info('room:looked-at')).epoch).not.toBe(epoch);
    });

    it('never forgets a stream whose appends say idleTtlMs 0, whatever the store\'s default', async () => {
      const { store, hasMeta } = await open({ streamIdleTtlMs: 100 });
      const first = await store.append('room:kept', entry('m1'), { maxCount: 100, maxAgeMs: 60_000, idleTtlMs: 0 });
      const epoch = first.status === 'appended' ? first.entry.epoch : '';
      await sleep(400);
      expect(await hasMeta('room:kept')).toBe(true);
      expect((await store.info('room:kept')).epoch).toBe(epoch);
    });

    it('refuses an invalid idle limit with a coded error and writes nothing', async () => {
      const { store, hasMeta } = await open();
      await expect(store.append('room:bad', entry('m1'), { maxCount: 10, maxAgeMs: 10, idleTtlMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message: 'retention.idleTtlMs must be a non-negative integer' });
      await expect(store.append('room:bad', entry('m1'), { maxCount: 10, maxAgeMs: 10, idleTtlMs: 1.5 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      expect(await hasMeta('room:bad')).toBe(false);
    });
  });
}

idleSuite('MemoryStore', true, async ({ streamIdleTtlMs }) => {
  const store = new MemoryStore({ sweepIntervalMs: 10, ...(streamIdleTtlMs === undefined ? {} : { streamIdleTtlMs }) });
  return {
    store,
    hasHistory: async (stream) => (store.peekStream(stream)?.entries ?? 0) > 0,
    hasMeta: async (stream) => store.peekStream(stream) !== undefined,
    close: () => store.close(),
  };
});

const redisUp = await redisAvailable();
const base = uniquePrefix('idle');
let admin: Redis | undefined;
let made = 0;
afterAll(async () => {
  admin?.disconnect();
  if (redisUp) await deleteKeys(base);
});

idleSuite('RedisStore', redisUp, async ({ streamIdleTtlMs }) => {
  admin ??= new Redis(REDIS_URL);
  const prefix = `${base}${++made}:`;
  // No expiry margin: these tests use the real clock on both sides.
  const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix, expiryMarginMs: 0, onError: () => undefined, ...(streamIdleTtlMs === undefined ? {} : { streamIdleTtlMs }) });
  await store.ping();
  const redis = admin;
  return {
    store,
    hasHistory: async (stream) => (await redis.exists(`${prefix}stream:${stream}`)) === 1,
    hasMeta: async (stream) => (await redis.exists(`${prefix}stream-meta:${stream}`)) === 1,
    close: () => store.close(),
  };
});

describe('MemoryStore idle streams on an injected clock', () => {
  let time = Date.UTC(2026, 0, 1);
  const now = (): number => time;
  const retention: Retention = { maxCount: 100, maxAgeMs: 60_000, idleTtlMs: 1000 };

  it('forgets a stream on its first use past the idle limit, before any sweep', async () => {
    const store = new MemoryStore({ now, sweepIntervalMs: 0 });
    const first = await store.append('room:r', entry('m1'), retention);
    const epoch = first.status === 'appended' ? first.entry.epoch : '';
    time += 1000;
    expect((await store.info('room:r')).epoch).toBe(epoch);
    time += 1001;
    const info = await store.info('room:r');
    expect(info.epoch).not.toBe(epoch);
    expect(info).toMatchObject({ firstOffset: 1, lastOffset: 0 });
    await store.close();
  });

  it('counts idle time from the last subscriber\'s leaving', async () => {
    const store = new MemoryStore({ now, sweepIntervalMs: 0 });
    const listener = (): void => undefined;
    await store.subscribe('room:r', listener);
    const first = await store.append('room:r', entry('m1'), retention);
    const epoch = first.status === 'appended' ? first.entry.epoch : '';
    time += 10_000;
    await store.unsubscribe('room:r', listener);
    time += 900;
    expect((await store.info('room:r')).epoch).toBe(epoch);
    time += 1001;
    expect((await store.info('room:r')).epoch).not.toBe(epoch);
    await store.close();
  });

  it('refuses an invalid streamIdleTtlMs', () => {
    expect(() => new MemoryStore({ streamIdleTtlMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: 'options.streamIdleTtlMs must be a non-negative integer' }));
  });
});

describe.skipIf(!redisUp)('RedisStore touches', () => {
  it('touches the streams whose last local member left in one turn with one script call', async () => {
    const client = new Redis(REDIS_URL);
    const prefix = `${base}batch:`;
    const store = new RedisStore({ client, keyPrefix: prefix, onError: () => undefined });
    try {
      const listener = (): void => undefined;
      const streams = Array.from({ length: 20 }, (_, i) => `room:left-${i}`);
      for (const stream of streams) await store.subscribe(stream, listener);
      // Loads the script, so the batch below needs no EVAL fallback.
      await store.subscribe('room:first', listener);
      await store.unsubscribe('room:first', listener);
      await sleep(50);
      const scripts: string[] = [];
      const send = client.sendCommand.bind(client);
      client.sendCommand = ((command: Parameters<typeof send>[0], stream?: Parameters<typeof send>[1]) => {
        if (/^eval/i.test(command.name)) scripts.push(command.name);
        return send(command, stream);
      }) as typeof client.sendCommand;
      await Promise.all(streams.map((stream) => store.unsubscribe(stream, listener)));
      await eventually(async () => scripts.length > 0, 'the touch');
      await sleep(50);
      expect(scripts).toEqual(['evalsha']);
      // Every one of them was touched: its meta expires after the store's default limit again.
      const ttls = await Promise.all(streams.map((stream) => client.pttl(`${prefix}stream-meta:${stream}`)));
      expect(ttls.every((ttl) => ttl > 7 * 24 * 3_600_000 - 60_000)).toBe(true);
    } finally {
      await store.close();
      client.disconnect();
    }
  });
});

describe.skipIf(!redisUp)('RedisStore idle options', () => {
  it('refuses an invalid streamIdleTtlMs or expiryMarginMs', () => {
    expect(() => new RedisStore({ url: REDIS_URL, streamIdleTtlMs: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: 'options.streamIdleTtlMs must be a non-negative integer' }));
    expect(() => new RedisStore({ url: REDIS_URL, expiryMarginMs: -5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: 'options.expiryMarginMs must be a non-negative integer' }));
  });
});
