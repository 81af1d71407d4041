import { expect, expectExactly, receivedIds, test, typeMessage, waitQueueEmpty, waitStatus } from './fixtures.js';

// Chromium's offline emulation holds the frames of an open WebSocket rather than closing it, as a
// dead network does: short heartbeats let the client notice, as it would on a real network.
const heartbeats = { heartbeatInterval: 300, heartbeatTimeout: 700 };

test('messages sent while the browser is offline arrive exactly once, in order, after it is back online', async ({ openDemo }) => {
  const ada = await openDemo({ name: 'Ada', params: { ...heartbeats, initialDelay: 200, maxDelay: 1000 } });
  const bob = await openDemo({ name: 'Bob' });
  const first = await typeMessage(ada, 'online before');
  await expect.poll(() => receivedIds(bob)).toEqual([first]);

  await ada.context().setOffline(true);
  await waitStatus(ada, 'reconnecting');
  await expect(ada.getByTestId('network')).toHaveAttribute('data-online', 'false');

  const offline: string[] = [];
  for (let i = 1; i <= 5; i++) offline.push(await typeMessage(ada, `typed offline ${i}`));
  await expect(ada.getByTestId('queue')).toHaveText('5 messages');
  await expect(ada.locator('[data-testid="message"].pending')).toHaveCount(5);
  expect(await receivedIds(bob)).toEqual([first]);

  await ada.context().setOffline(false);
  await waitStatus(ada, 'open');
  await waitQueueEmpty(ada);
  await expect(ada.getByTestId('queue')).toHaveText('0 messages');

  await expectExactly(bob, [first, ...offline], ada);
  // The sender sees its own messages come back from the room once each, too.
  await expectExactly(ada, await ada.evaluate(() => window.demo.sent.slice()));
  await expect(ada.locator('[data-testid="message"].pending')).toHaveCount(0);
});

test('the client reconnects at once when the browser comes back online, not after its backoff delay', async ({ openDemo }) => {
  // A minute of backoff: only the `online` event can bring the page back within the test's timeout.
  const ada = await openDemo({ name: 'Ada', params: { ...heartbeats, initialDelay: 60_000, maxDelay: 60_000, jitter: 'none' } });
  await ada.context().setOffline(true);
  await waitStatus(ada, 'reconnecting');
  await expect.poll(() => ada.evaluate(() => window.demo.socket.nextRetryDelay)).toBe(60_000);

  await ada.context().setOffline(false);
  await waitStatus(ada, 'open');
  expect(await ada.evaluate(() => window.demo.socket.attempt)).toBe(0);
  expect(await ada.evaluate(() => window.demo.events.map((e) => e.text).filter((t) => t.startsWith('retry #')))).toEqual(['retry #1 in 60.0 s']);
});

test('the client reconnects at once when the page becomes visible again, not after its backoff delay', async ({ openDemo }) => {
  const ada = await openDemo({ name: 'Ada', params: { initialDelay: 60_000, maxDelay: 60_000, jitter: 'none' } });
  await ada.evaluate(() => window.demo.blockConnections(true));
  await ada.getByTestId('drop').click();
  await waitStatus(ada, 'reconnecting');
  await expect.poll(() => ada.evaluate(() => window.demo.socket.nextRetryDelay)).toBe(60_000);

  // Headless pages stay "visible"; the event the browser fires when a tab comes back is enough
  // to exercise the client's real listener on the real document.
  await ada.evaluate(() => {
    window.demo.blockConnections(false);
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await waitStatus(ada, 'open');
  await expect.poll(() => ada.evaluate(() => window.demo.recoveries.length)).toBe(2);
  expect(await ada.evaluate(() => window.demo.recoveries.at(-1)?.recovered)).toBe(true);
});
