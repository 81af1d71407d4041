/**
 * The room counter in Redis mode: two reference server processes' worth of instances sharing one
 * Redis (unique key prefix, deleted afterwards), the real client hopping between them across
 * cuts. Skipped loudly when Redis is down, unless REQUIRE_REDIS=1.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';
import { startServer, teardownAll, waitFor } from '../client/integration-helpers.js';
import { counterOf, counterState, counterUnderCuts, stateClient } from './helpers.js';
import type { Counter } from './helpers.js';

const redisUp = await redisAvailable();
const keyPrefix = uniquePrefix('state-integration');

afterEach(teardownAll);
afterAll(async () => {
  if (redisUp) await deleteKeys(keyPrefix);
});

const SCOPE = 'room:counter';

describe.skipIf(!redisUp)('room state over Redis', () => {
  it('two clients on two instances end at the server version and value, each event applied once, across cuts', async () => {
    const options = { store: { redis: REDIS_URL, keyPrefix }, state: counterState({ snapshotEvery: 5 }) };
    const s1 = await startServer(options);
    const s2 = await startServer(options);
    expect(s1.store.kind).toBe('redis');
    // A alternates between the instances on every connection; B stays on the second.
    let attempt = 0;
    let reachable = true;
    const a = stateClient(() => (!reachable ? 'ws://127.0.0.1:9/unreachable' : attempt++ % 2 === 0 ? s1.url : s2.url));
    const b = stateClient(s2.url);
    await Promise.all([a.ws.join('counter'), b.ws.join('counter')]);

    const { sent } = await counterUnderCuts(a, b, SCOPE, {
      before: 4,
      perCut: 3,
      cut: () => s1.disconnect(a.ws.sessionId!, 4008),
      setReachable: (up) => (reachable = up),
    });
    const final = await s1.getState(SCOPE);
    expect(final.version).toBe(sent.length);
    expect(await s2.getState(SCOPE)).toEqual(final);
    await waitFor(() => a.ws.getState(SCOPE)?.version === final.version && b.ws.getState(SCOPE)?.version === final.version, 'both clients at the final version');
    const value = final.value as unknown as Counter;
    expect([...value.ids].sort()).toEqual([...sent].sort());
    for (const t of [a, b]) expect(counterOf(t, SCOPE)).toMatchObject({ confirmed: true, version: final.version, ids: value.ids });
    expect(value.ids.filter((id) => id.startsWith('a'))).toEqual(sent.filter((id) => id.startsWith('a')));
  });
});
