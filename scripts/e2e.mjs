#!/usr/bin/env node
// `npm run test:e2e`: the Playwright suite in real Chromium (e2e/, playwright.config.ts).
//
// Uses the system's Chromium (CHROMIUM_PATH, else /usr/bin/chromium or a `chromium` /
// `chromium-browser` on the PATH) and never downloads one.
// Without a browser it skips with a message and exits 0 — unless REQUIRE_E2E=1 (CI), where a
// missing browser is a failure. Builds dist/ first when the bundle the demo loads is missing.
// Extra arguments go to `playwright test` (e.g. `npm run test:e2e -- recovery`).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.REQUIRE_E2E === '1';
const chromium = process.env.CHROMIUM_PATH || findChromium();

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** /usr/bin/chromium (Debian), else a Chromium on the PATH (Ubuntu and others name it differently). */
function findChromium() {
  const fallback = '/usr/bin/chromium';
  if (executable(fallback)) return fallback;
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (executable(join(dir, name))) return join(dir, name);
    }
  }
  return fallback;
}

if (!executable(chromium)) {
  const message =
    `e2e: no Chromium at ${chromium}. Install the distribution's package (Debian: apt-get install chromium) ` +
    'or set CHROMIUM_PATH to a Chromium/Chrome binary. Playwright browsers are never downloaded.';
  if (required) {
    console.error(`${message}\ne2e: REQUIRE_E2E=1, so this is a failure.`);
    process.exit(1);
  }
  console.log(`${message}\ne2e: skipped (set REQUIRE_E2E=1 to fail instead).`);
  process.exit(0);
}

const needed = ['dist/resilient-socket.umd.min.js', 'dist/server/index.js'];
if (needed.some((file) => !existsSync(join(root, file)))) {
  console.log('e2e: dist/ is missing, running `npm run build` first');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const run = spawnSync('npx', ['playwright', 'test', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CHROMIUM_PATH: chromium, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
});
process.exit(run.status ?? 1);
