import { expect, expectExactly, receivedIds, test, waitQueueEmpty, waitStatus } from './fixtures.js';

const COUNT = 300;

test(`a page away during a burst of ${COUNT} messages gets all of them once, in order (main-thread long tasks measured)`, async ({ openDemo }) => {
  const params = { initialDelay: 200, maxDelay: 1000 };
  const ada = await openDemo({ name: 'Ada', params });
  const bob = await openDemo({ name: 'Bob', params });
  // Long tasks (>50 ms on the main thread) while Ada catches up: measured and reported, not asserted.
  await ada.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  });

  await ada.evaluate(() => window.demo.blockConnections(true));
  await ada.getByTestId('drop').click();
  await waitStatus(ada, 'reconnecting');
  const burst = await bob.evaluate((n) => Array.from({ length: n }, (_, i) => window.demo.send(`burst ${i + 1}`)), COUNT);
  await waitQueueEmpty(bob);

  const started = Date.now();
  await ada.evaluate(() => window.demo.blockConnections(false));
  await expect.poll(async () => (await receivedIds(ada)).length, { timeout: 30_000 }).toBe(COUNT);
  const catchUpMs = Date.now() - started;
  await expectExactly(ada, burst, bob);
  const delivered = await ada.evaluate(() => window.demo.received.slice(0, -1).map((m) => m.replayed));
  expect(delivered.every(Boolean)).toBe(true);
  expect(await ada.evaluate(() => window.demo.recoveries.at(-1))).toMatchObject({ recovered: true, replayed: COUNT });

  const longTasks = await ada.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
  const summary = `catch-up of ${COUNT} replayed messages (incl. reconnect backoff): ${catchUpMs} ms; long tasks: ${longTasks.length}, longest ${Math.round(Math.max(0, ...longTasks))} ms`;
  test.info().annotations.push({ type: 'measurement', description: summary });
  console.log(summary);
});
