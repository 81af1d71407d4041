import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, receivedIds, test, typeMessage, waitStatus } from './fixtures.js';

/** Screenshots are kept as test output here (gitignored); docs/demo.png is copied from one. */
const OUTPUT = fileURLToPath(new URL('./output/', import.meta.url));

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${OUTPUT}${name}.png`, animations: 'disabled', caret: 'hide' });
  await test.info().attach(name, { path: `${OUTPUT}${name}.png`, contentType: 'image/png' });
}

for (const [label, viewport] of Object.entries(VIEWPORTS)) {
  test(`screenshots of the demo connected and reconnecting (${label})`, async ({ openDemo }) => {
    // Slow, even backoff so the countdown is on screen when the picture is taken.
    const ada = await openDemo({ name: 'Ada', viewport, params: { initialDelay: 8000, maxDelay: 8000, jitter: 'equal' } });
    const bob = await openDemo({ name: 'Bob', viewport });
    await typeMessage(bob, 'Hi Ada! Try the “Drop connection” button.');
    await typeMessage(ada, 'Dropping it now — keep talking.');
    for (let i = 0; i < 3; i++) await bob.getByTestId('increment').click();
    await expect(ada.getByTestId('state-confirmed')).toHaveText('confirmed');
    await expect(ada.getByTestId('counter')).toHaveText('3');
    await expect.poll(async () => (await receivedIds(ada)).length).toBe(2);
    await waitQueueQuiet(ada);
    await shoot(ada, `demo-connected-${label}`);

    await ada.evaluate(() => window.demo.blockConnections(true));
    await ada.getByTestId('drop').click();
    await waitStatus(ada, 'reconnecting');
    await typeMessage(bob, 'You will get this one when you are back.');
    await typeMessage(ada, 'Typed while reconnecting: queued, sent once on resume.');
    await expect(ada.getByTestId('queue')).toHaveText('1 message');
    await expect(ada.getByTestId('next-retry')).toContainText(' of ');
    await shoot(ada, `demo-reconnecting-${label}`);

    await ada.evaluate(() => {
      window.demo.blockConnections(false);
      window.demo.socket.reconnect();
    });
    await waitStatus(ada, 'open');
    await expect(ada.getByTestId('recovered')).toHaveAttribute('data-recovered', 'true');
    await expect.poll(async () => (await receivedIds(ada)).length).toBe(4);
    await waitQueueQuiet(ada);
    await shoot(ada, `demo-recovered-${label}`);
  });
}

/** Let the panel show an empty queue before a picture. */
async function waitQueueQuiet(page: Page): Promise<void> {
  await expect(page.getByTestId('queue')).toHaveText('0 messages');
}
