/**
 * The rebuild worker must load from the built package too, not only from the TypeScript sources
 * vitest runs: bundle the state module the way rollup.config.mjs does (ESM and CJS), run each
 * bundle in a plain Node child process and rebuild in a worker there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import esbuild from 'rollup-plugin-esbuild';

const ENTRY = fileURLToPath(new URL('../../src/server/state/index.ts', import.meta.url));
const REDUCER = new URL('./fixtures/reducer.mjs', import.meta.url).href;
let dir = '';

function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-state-build-'));
  const external = (id: string) => id.startsWith('node:') || builtinModules.includes(id);
  const bundle = await rollup({ input: ENTRY, external, plugins: [esbuild({ target: 'es2020', tsconfig: 'tsconfig.json' })] });
  try {
    await bundle.write({ file: join(dir, 'state.mjs'), format: 'es' });
    await bundle.write({ file: join(dir, 'state.cjs'), format: 'cjs', exports: 'named' });
  } finally {
    await bundle.close();
  }
  const script = (load: string) => `
${load}
const pool = new StateWorkerPool({ reducerModule: ${JSON.stringify(REDUCER)}, size: 1 });
const events = Array.from({ length: 3000 }, (_, i) => ({ version: i + 1, event: { encoding: 'json', data: JSON.stringify(i === 2999 ? { probe: true } : { inc: 1 }) } }));
pool.rebuild({ scope: 's', base: { n: 0, kv: {} }, baseVersion: 0, events }).then(async (r) => {
  console.log(JSON.stringify(r.value));
  await pool.close();
}, (err) => { console.error(err); process.exit(1); });
`;
  await writeFile(join(dir, 'run-esm.mjs'), script(`import { StateWorkerPool } from './state.mjs';`));
  await writeFile(join(dir, 'run-cjs.cjs'), script(`const { StateWorkerPool } = require('./state.cjs');`));
}, 60_000);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('rebuild workers from the built bundles', () => {
  for (const file of ['run-esm.mjs', 'run-cjs.cjs']) {
    it(`rebuilds in a worker from ${file.endsWith('.mjs') ? 'the ESM' : 'the CJS'} bundle`, async () => {
      const out = JSON.parse(await node([join(dir, file)])) as { n: number; probe: { isMainThread: boolean } };
      expect(out.n).toBe(2999);
      expect(out.probe.isMainThread).toBe(false);
    });
  }
});
