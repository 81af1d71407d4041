import { expect, expectExactly, receivedIds, sessionId, test, typeMessage, waitQueueEmpty, waitStatus } from './fixtures.js';

test('a page cut by the server shows every message it missed once, in order, and reports recovered', async ({ openDemo }) => {
  // Short backoff so the cut page retries promptly once it may connect again.
  const params = { initialDelay: 200, maxDelay: 1000 };
  const ada = await openDemo({ name: 'Ada', params });
  const bob = await openDemo({ name: 'Bob', params });

  const before = [await typeMessage(bob, 'before the cut 1'), await typeMessage(bob, 'before the cut 2')];
  await expect.poll(() => receivedIds(ada)).toEqual(before);
  const adaSession = await sessionId(ada);

  // Hold Ada down after the server cuts her, so Bob's messages are published while she is away.
  await ada.evaluate(() => window.demo.blockConnections(true));
  await ada.getByTestId('drop').click();
  await waitStatus(ada, 'reconnecting');
  await expect(ada.getByTestId('status-pill')).toHaveAttribute('data-status', /reconnecting|offline/);

  const missed: string[] = [];
  for (let i = 1; i <= 5; i++) missed.push(await typeMessage(bob, `while Ada is away ${i}`));
  await waitQueueEmpty(bob);
  expect(await receivedIds(ada)).toEqual(before);

  await ada.evaluate(() => window.demo.blockConnections(false));
  await waitStatus(ada, 'open');
  await expect.poll(() => ada.evaluate(() => window.demo.recoveries.length)).toBe(2);

  await expectExactly(ada, [...before, ...missed], bob);
  const delivered = await ada.evaluate(() => window.demo.received);
  expect(delivered.filter((m) => m.replayed).map((m) => m.id)).toEqual(missed);
  const offsets = delivered.map((m) => m.offset);
  expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));

  const recovery = await ada.evaluate(() => window.demo.recoveries.at(-1)!);
  expect(recovery).toMatchObject({ recovered: true, replayed: missed.length, gaps: 0, sessionId: adaSession });
  expect(await ada.evaluate(() => window.demo.socket.recovered)).toBe(true);
  await expect(ada.getByTestId('recovered')).toHaveAttribute('data-recovered', 'true');
  await expect(ada.getByTestId('recovered')).toHaveText(`recovered · ${missed.length} replayed`);
  await expect(ada.getByTestId('session-id')).toHaveText(adaSession);
  // The chat shows each missed message once.
  for (const id of missed) await expect(ada.locator(`[data-testid="message"][data-id="${id}"]`)).toHaveCount(1);
});
