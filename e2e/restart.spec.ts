import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../test/helpers/redis.js';
import { expect, expectExactly, lastRecovery, receivedIds, sessionId, test, typeMessage, waitQueueEmpty, waitStatus } from './fixtures.js';
import { startServer } from './support/server-process.js';
import type { ServerProcess } from './support/server-process.js';

test('pages resume their sessions after the reference server (Redis mode) is killed and restarted on the same port', async ({ openDemo }) => {
  test.skip(!(await redisAvailable()), `no Redis at ${REDIS_URL} (REQUIRE_REDIS=1 makes this a failure)`);
  const redis = { url: REDIS_URL, keyPrefix: uniquePrefix('e2e-restart') };
  let server: ServerProcess | undefined = await startServer({ redis });
  try {
    const params = { initialDelay: 200, maxDelay: 1000 };
    const ada = await openDemo({ name: 'Ada', origin: server.origin, params });
    const bob = await openDemo({ name: 'Bob', origin: server.origin, params });
    const sessions = [await sessionId(ada), await sessionId(bob)];

    const before = [await typeMessage(ada, 'before the crash'), await typeMessage(bob, 'me too')];
    await expect.poll(() => receivedIds(ada)).toEqual(before);
    await expect.poll(() => receivedIds(bob)).toEqual(before);
    for (let i = 0; i < 2; i++) await ada.getByTestId('increment').click();
    await expect.poll(() => bob.evaluate(() => ({ ...window.demo.counter }))).toEqual({ value: 2, version: 2, confirmed: true });

    // A crash: SIGKILL, no shutdown, sessions still marked as held by the dead process.
    const port = server.port;
    await server.kill();
    server = undefined;
    await waitStatus(ada, 'reconnecting');
    await waitStatus(bob, 'reconnecting');

    const whileDown = [await typeMessage(ada, 'typed while the server is down 1'), await typeMessage(ada, 'typed while the server is down 2')];
    await expect(ada.getByTestId('queue')).toHaveText('2 messages');

    server = await startServer({ port, redis });
    await waitStatus(ada, 'open');
    await waitStatus(bob, 'open');
    expect([await sessionId(ada), await sessionId(bob)]).toEqual(sessions);
    for (const page of [ada, bob]) {
      // `recovered` follows `open` once the replay is done.
      await expect.poll(() => page.evaluate(() => window.demo.recoveries.length)).toBe(2);
      expect(await lastRecovery(page)).toMatchObject({ recovered: true, gaps: 0 });
    }
    await waitQueueEmpty(ada);
    // The room's state lives in Redis: both pages hold it, confirmed, at the same version.
    for (const page of [ada, bob]) {
      await expect.poll(() => page.evaluate(() => ({ ...window.demo.counter }))).toEqual({ value: 2, version: 2, confirmed: true });
    }
    await bob.getByTestId('increment').click();
    await expect.poll(() => ada.evaluate(() => ({ ...window.demo.counter }))).toEqual({ value: 3, version: 3, confirmed: true });

    const after = await typeMessage(bob, 'after the restart');
    await expectExactly(bob, [...before, ...whileDown, after], ada);
    const all = await receivedIds(bob);
    await expectExactly(ada, all);
  } finally {
    await server?.stop();
    await deleteKeys(redis.keyPrefix);
  }
});
