// Where our own build lives, and whether the pieces a figure needs exist yet. The SDK is
// developed alongside the bench; figures for "ours" are skipped (and said so) until it lands.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = join(ROOT, 'dist');

/** Absolute paths of our build outputs. */
export const OURS = {
  browserEsm: join(DIST, 'index.browser.js'),
  browserEsmMin: join(DIST, 'index.browser.min.js'),
  umdMin: join(DIST, 'resilient-socket.umd.min.js'),
  liteBrowserEsm: join(DIST, 'lite.browser.js'),
  liteBrowserEsmMin: join(DIST, 'lite.browser.min.js'),
  srcLite: join(ROOT, 'src', 'lite.ts'),
  // BENCH_OURS_CLIENT: measure another build of the client (e.g. a different esbuild target)
  nodeEsm: process.env.BENCH_OURS_CLIENT ?? join(DIST, 'index.js'),
  server: join(DIST, 'server', 'index.js'),
  cli: join(ROOT, 'bin', 'resilient-socket-server.mjs'),
  srcIndex: join(ROOT, 'src', 'index.ts'),
  srcServer: join(ROOT, 'src', 'server', 'index.ts'),
};

/** file:// URL for dynamic import. */
export const url = (path) => pathToFileURL(path).href;

/**
 * Build dist/ with `npm run build` when it is missing and the sources exist (a fresh clone).
 * Returns a note for the report when the build was skipped or failed.
 */
export function ensureDist({ log = console.error } = {}) {
  const need = [OURS.browserEsm, OURS.nodeEsm, OURS.server];
  if (need.every((p) => existsSync(p))) return null;
  if (!existsSync(OURS.srcIndex)) return 'src/index.ts does not exist yet: no figures for ours';
  log('bench: dist/ is incomplete, running `npm run build` ...');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) return `npm run build failed (status ${r.status}): figures for ours may be missing`;
  return null;
}

/** Which of our pieces are available now. */
export function oursAvailable() {
  return {
    client: existsSync(OURS.nodeEsm),
    browser: existsSync(OURS.browserEsm),
    server: existsSync(OURS.server),
  };
}

/** Newest modification time (ms) of any file under `dir`, bounded to 10,000 entries. */
function newest(dir) {
  let max = 0;
  let seen = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (++seen > 10_000) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else max = Math.max(max, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return max;
}

/** A note when dist/ is older than src/ (the figures would be for an older build). */
export function staleDistNote() {
  if (!existsSync(OURS.nodeEsm) || !existsSync(join(ROOT, 'src'))) return null;
  const built = Math.min(...[OURS.nodeEsm, OURS.server, OURS.browserEsm].filter((p) => existsSync(p)).map((p) => statSync(p).mtimeMs));
  return newest(join(ROOT, 'src')) > built ? 'dist/ is older than src/: these figures are for the last build (run `npm run build` first)' : null;
}
