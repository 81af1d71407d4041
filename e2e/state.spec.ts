import type { Page } from '@playwright/test';
import { expect, test, waitJoined, waitStatus } from './fixtures.js';

/** What the counter card shows, read from `window.demo.counter`. */
function counter(page: Page): Promise<{ value: unknown; version: number | null; confirmed: boolean | null }> {
  return page.evaluate(() => ({ ...window.demo.counter }));
}

async function expectCounter(page: Page, value: number, version: number): Promise<void> {
  await expect.poll(() => counter(page), { message: 'counter value, version, confirmed' }).toEqual({ value, version, confirmed: true });
  await expect(page.getByTestId('counter')).toHaveText(String(value));
  await expect(page.getByTestId('state-version')).toHaveText(String(version));
  await expect(page.getByTestId('state-confirmed')).toHaveText('confirmed');
}

async function click(page: Page, button: 'increment' | 'decrement', times: number): Promise<void> {
  for (let i = 0; i < times; i++) await page.getByTestId(button).click();
}

test('the shared counter survives a server cut, an offline spell and a reload with the right version', async ({ openDemo }) => {
  const params = { initialDelay: 200, maxDelay: 1000 };
  const ada = await openDemo({ name: 'Ada', params });
  const bob = await openDemo({ name: 'Bob', params });
  await expectCounter(ada, 0, 0);
  await expectCounter(bob, 0, 0);

  await click(ada, 'increment', 3);
  await click(bob, 'decrement', 1);
  await expectCounter(ada, 2, 4);
  await expectCounter(bob, 2, 4);

  // A server-side cut while Bob changes the counter: Ada catches up on resume.
  await ada.evaluate(() => window.demo.blockConnections(true));
  await ada.getByTestId('drop').click();
  await waitStatus(ada, 'reconnecting');
  await click(bob, 'increment', 2);
  await expectCounter(bob, 4, 6);
  expect(await counter(ada)).toEqual({ value: 2, version: 4, confirmed: true });
  await ada.evaluate(() => window.demo.blockConnections(false));
  await waitStatus(ada, 'open');
  await expectCounter(ada, 4, 6);
  expect(await ada.evaluate(() => window.demo.stateChanges.at(-1)!.source)).toBe('recovery');

  // Offline: the steps wait in the queue and are applied exactly once when back.
  await ada.getByTestId('offline').click();
  await click(ada, 'increment', 2);
  await expect(ada.getByTestId('state-pending')).toHaveText('+2 queued');
  expect(await counter(bob)).toEqual({ value: 4, version: 6, confirmed: true });
  await ada.getByTestId('offline').click();
  await expectCounter(ada, 6, 8);
  await expectCounter(bob, 6, 8);
  await expect(ada.getByTestId('state-pending')).toHaveText('');

  // A reload shows the persisted value at once, unconfirmed, then the server confirms it.
  await ada.reload();
  await waitJoined(ada);
  const first = await ada.evaluate(() => window.demo.stateChanges[0]);
  expect(first).toEqual({ value: 6, version: 8, source: 'restored', confirmed: false });
  await expectCounter(ada, 6, 8);
  await click(bob, 'increment', 1);
  await expectCounter(ada, 7, 9);

  // Every page saw versions only go up.
  for (const page of [ada, bob]) {
    const versions = await page.evaluate(() => window.demo.stateChanges.filter((c) => c.confirmed).map((c) => c.version));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  }
});
