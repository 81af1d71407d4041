import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests in real Chromium against the demo page (see e2e/ and docs/demo.md).
 * Run with `npm run test:e2e` (scripts/e2e.mjs), which checks for a browser and the build first.
 * The system's Chromium is used; Playwright never downloads one.
 */
export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  outputDir: 'e2e/output/results',
  // Each test starts its own pages and rooms; two workers stay gentle on a 2-core machine.
  workers: process.env.E2E_WORKERS ? Number(process.env.E2E_WORKERS) : 2,
  fullyParallel: true,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { outputFolder: 'e2e/output/report', open: 'never' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
});
