import { expect, expectExactly, receivedIds, sessionId, test, typeMessage, waitJoined } from './fixtures.js';

test('messages still queued at a reload are restored from IndexedDB and sent once', async ({ openDemo }) => {
  const ada = await openDemo({ name: 'Ada' });
  const bob = await openDemo({ name: 'Bob' });
  const before = await typeMessage(ada, 'before going offline');
  await expect.poll(() => receivedIds(bob)).toEqual([before]);
  const adaSession = await sessionId(ada);

  await ada.getByTestId('offline').click();
  await expect(ada.getByTestId('status-pill')).toHaveAttribute('data-status', 'offline');
  const queued: string[] = [];
  for (let i = 1; i <= 3; i++) queued.push(await typeMessage(ada, `queued before the reload ${i}`));
  await expect(ada.getByTestId('queue')).toHaveText('3 messages');

  // The queue is in IndexedDB before the page goes away.
  await expect
    .poll(() =>
      ada.evaluate(async (ids) => {
        // The queue holds frames (as objects, or as frame texts): look for the id in either form.
        const stored = JSON.stringify(await window.demo.storage.get(`resilient-socket:${window.demo.sessionKey}:session`));
        return ids.filter((id) => stored.includes(`"${id}"`) || stored.includes(`\\"${id}\\"`));
      }, queued),
    )
    .toEqual(queued);
  expect(await receivedIds(bob)).toEqual([before]);

  await ada.reload();
  await waitJoined(ada);
  expect(await ada.evaluate(() => window.demo.restored)).toEqual(queued);
  expect(await sessionId(ada)).toBe(adaSession);
  await expect.poll(() => ada.evaluate(() => window.demo.recoveries.at(-1)?.recovered)).toBe(true);

  await expectExactly(bob, [before, ...queued], ada);
  // After the reload Ada receives her restored messages back from the room, once each.
  await expect.poll(() => receivedIds(ada)).toEqual(expect.arrayContaining(queued));
  expect((await receivedIds(ada)).filter((id) => queued.includes(id))).toEqual(queued);
  await expect(ada.locator('[data-testid="message"].pending')).toHaveCount(0);
});
