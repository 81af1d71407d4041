/**
 * Fixtures of the end-to-end suite: a reference server per worker (in-memory, demo and faults
 * on), a fresh room per test, and `openDemo` for demo pages that are closed after the test.
 */
import { randomBytes } from 'node:crypto';
import { test as base, expect } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { startServer } from './support/server-process.js';
import type { ServerProcess } from './support/server-process.js';
import type { RecoveryEntry } from './support/demo-handle.js';

/** How to open a demo page. */
export interface OpenDemoOptions {
  /** Display name in the chat. */
  name: string;
  /** Another server than the worker's (the Redis restart test). */
  origin?: string;
  /** Open in this context (shares IndexedDB and the network switch); default: a new one. */
  context?: BrowserContext;
  /** Extra URL parameters for demo.js (backoff and heartbeat knobs). */
  params?: Record<string, string | number>;
  viewport?: { width: number; height: number };
}

interface TestFixtures {
  /** A room name no other test uses. */
  room: string;
  /** Open the demo in a page (its own browser context by default); waits until it joined the room. */
  openDemo: (options: OpenDemoOptions) => Promise<Page>;
}

interface WorkerFixtures {
  server: ServerProcess;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take a destructured object
    async ({}, use) => {
      const server = await startServer();
      try {
        await use(server);
      } finally {
        await server.stop();
      }
    },
    { scope: 'worker' },
  ],

  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take a destructured object
  room: async ({}, use) => {
    await use(`e2e-${randomBytes(5).toString('hex')}`);
  },

  openDemo: async ({ browser, server, room }, use, testInfo) => {
    const contexts: BrowserContext[] = [];
    const pages: { name: string; page: Page }[] = [];
    const pageErrors: string[] = [];
    await use(async (options) => {
      let context = options.context;
      if (!context) {
        context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
        contexts.push(context);
      }
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(`${options.name}: ${err.message}`));
      pages.push({ name: options.name, page });
      await page.goto(demoUrl(options.origin ?? server.origin, { room, name: options.name, ...options.params }));
      await waitJoined(page);
      return page;
    });
    if (testInfo.status !== testInfo.expectedStatus) {
      // What each page's socket went through, for the report.
      for (const { name, page } of pages) {
        const log = await page.evaluate(() => window.demo?.events.map((e) => `${new Date(e.at).toISOString()} ${e.text}`).join('\n')).catch(() => undefined);
        if (!log) continue;
        await testInfo.attach(`events-${name}.txt`, { body: log, contentType: 'text/plain' });
        console.log(`--- events of ${name}'s page ---\n${log}`);
      }
    }
    for (const context of contexts) await context.close();
    expect(pageErrors, 'uncaught errors in the demo pages').toEqual([]);
  },
});

export { expect };

/** The demo's URL with its parameters. */
export function demoUrl(origin: string, params: Record<string, string | number>): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  return `${origin}/?${query.toString()}`;
}

/** Wait until the page's socket is open and its room join acknowledged. */
export async function waitJoined(page: Page): Promise<void> {
  await page.waitForFunction(() => window.demo !== undefined && window.demo.joined && window.demo.socket.status === 'open');
}

/** Wait until the socket's status is `status`. */
export async function waitStatus(page: Page, status: string): Promise<void> {
  await page.waitForFunction((s) => window.demo.socket.status === s, status);
}

/** Ids of the messages the page delivered, in delivery order. */
export function receivedIds(page: Page): Promise<string[]> {
  return page.evaluate(() => window.demo.received.map((m) => m.id));
}

/** Ids the page sent (this page instance), in order. */
export function sentIds(page: Page): Promise<string[]> {
  return page.evaluate(() => window.demo.sent.slice());
}

/** The page's session id. */
export async function sessionId(page: Page): Promise<string> {
  const id = await page.evaluate(() => window.demo.socket.sessionId);
  expect(id, 'session id').toBeTruthy();
  return id!;
}

/** The last `recovered` event of the page. */
export function lastRecovery(page: Page): Promise<RecoveryEntry | undefined> {
  return page.evaluate(() => window.demo.recoveries.at(-1));
}

/** Type a chat message and press Enter, like a user; returns the id the demo gave it. */
export async function typeMessage(page: Page, text: string): Promise<string> {
  const before = (await sentIds(page)).length;
  await page.getByTestId('input').fill(text);
  await page.getByTestId('input').press('Enter');
  await page.waitForFunction((n) => window.demo.sent.length > n, before);
  return (await sentIds(page))[before]!;
}

/** Wait until the page's offline queue is empty (everything it sent is acknowledged). */
export async function waitQueueEmpty(page: Page): Promise<void> {
  await page.waitForFunction(() => window.demo.socket.stats.queueLength === 0);
}

/**
 * Assert the page delivered exactly `ids`, in this order. A marker message sent last by `marker`
 * (when given) is waited for first: a late duplicate would arrive before it, so the list is final.
 */
export async function expectExactly(page: Page, ids: string[], marker?: Page): Promise<void> {
  let expected = ids;
  if (marker) {
    const markerId = await marker.evaluate(() => window.demo.send('(end of test)'));
    expected = [...ids, markerId];
  }
  await expect.poll(() => receivedIds(page), { message: 'delivered message ids' }).toHaveLength(expected.length);
  expect(await receivedIds(page)).toEqual(expected);
}

/** POST the fault endpoint for a session (what the "Drop connection" button does). */
export async function cutSession(origin: string, id: string): Promise<void> {
  const res = await fetch(`${origin}/_faults/disconnect?session=${encodeURIComponent(id)}`, { method: 'POST' });
  expect(res.status, 'fault endpoint status').toBe(204);
}
