/**
 * A resume checks the presented token, then rotates it in one store call. Between the two, a
 * resume elsewhere may use the newer token and so retire the presented one: the rotation must then
 * fail (compare-and-set in Store.resumeSession), or the retired token takes the session from the
 * client that holds the newest token (review finding: it did, on Redis and in memory).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { Store } from '../../src/server/stores/store.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { TestClient, startServer, teardown } from './helpers.js';

const redisUp = await redisAvailable();
const prefix = uniquePrefix('resume-race');
afterEach(teardown);
afterAll(async () => {
  if (redisUp) await deleteKeys(prefix);
});

/** `store` whose next resumeSession waits at a gate (reports when it got there). */
function gated<S extends Store>(store: S): { store: S; reached: Promise<void>; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let reachedIt!: () => void;
  const reached = new Promise<void>((r) => (reachedIt = r));
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'resumeSession') {
        return async (...args: Parameters<NonNullable<Store['resumeSession']>>) => {
          reachedIt();
          await gate;
          return target.resumeSession!(...args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, reached, open };
}

const variants: Array<[string, () => [Store, Store]]> = [
  ['memory (one store, two servers)', () => {
    const shared = new MemoryStore();
    return [shared, shared];
  }],
];
if (redisUp) {
  variants.push(['Redis (two instances)', () => {
    const keyPrefix = `${prefix}:${Math.random().toString(36).slice(2)}:`;
    return [new RedisStore({ url: REDIS_URL, keyPrefix }), new RedisStore({ url: REDIS_URL, keyPrefix })];
  }]);
}

describe.each(variants)('racing resumes: %s', (_name, make) => {
  it('a token retired by a resume elsewhere while this resume waited does not take the session', async () => {
    const [storeA, storeB] = make();
    const slow = gated(storeB);
    const a = await startServer({ store: storeA });
    const b = await startServer({ store: slow.store });
    // T0 from HELLO; one resume on A: T1 is current, T0 the previous token (still valid)
    const c0 = await TestClient.open(a.url);
    const hello = await c0.hello();
    const T0 = hello.resumeToken;
    c0.ws.terminate();
    await c0.closed;
    const c1 = await TestClient.open(a.url);
    c1.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: T0, positions: {}, lastAckedSeq: 0 });
    const T1 = (await c1.next('STATE_RECOVERED')).resumeToken;
    // B checks T0 and waits before its rotation ...
    const stale = await TestClient.open(b.url);
    stale.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: T0, positions: {}, lastAckedSeq: 0 });
    await slow.reached;
    // ... while the client uses T1 on A: T0 dies here
    const c2 = await TestClient.open(a.url);
    c2.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: T1, positions: {}, lastAckedSeq: 0 });
    const T2 = (await c2.next('STATE_RECOVERED')).resumeToken;
    slow.open();
    expect(await stale.take((f) => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'the stale answer')).toMatchObject({ type: 'NEW_SESSION', recovered: false, reason: 'token_rejected' });
    // the client holding the newest token keeps the session and can resume it
    expect(c2.ws.readyState).toBe(c2.ws.OPEN);
    expect(c2.received.filter((f) => f.type === 'ERROR')).toEqual([]);
    c2.ws.terminate();
    await c2.closed;
    const c3 = await TestClient.open(a.url);
    c3.send({ type: 'RECONNECT', v: 1, sessionId: hello.sessionId, resumeToken: T2, positions: {}, lastAckedSeq: 0 });
    expect(await c3.take((f) => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'the answer')).toMatchObject({ type: 'STATE_RECOVERED', sessionId: hello.sessionId });
  });
});
