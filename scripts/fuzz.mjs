#!/usr/bin/env node
// The long fuzzing run: the same fast-check properties as test/fuzz (which run in the regular
// suite with a small FUZZ_RUNS), with many more runs. Usage:
//   node scripts/fuzz.mjs                 # FUZZ_RUNS=200000
//   FUZZ_RUNS=1000000 node scripts/fuzz.mjs [vitest filters...]
// A failing property prints its seed and counterexample; the exit code is vitest's.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = process.env.FUZZ_RUNS ?? '200000';
if (!/^[1-9][0-9]*$/.test(runs)) {
  console.error(`FUZZ_RUNS must be a positive integer, got ${JSON.stringify(runs)}`);
  process.exit(2);
}
// vitest's exports map hides its bin file; find it through package.json's `bin`.
const pkgPath = createRequire(import.meta.url).resolve('vitest/package.json');
const vitest = join(dirname(pkgPath), JSON.parse(readFileSync(pkgPath, 'utf8')).bin.vitest);
const filters = process.argv.slice(2);
const args = [vitest, 'run', ...(filters.length > 0 ? filters : ['test/fuzz']), '--testTimeout=86400000', '--hookTimeout=120000'];
console.log(`fuzz: FUZZ_RUNS=${runs} vitest ${args.slice(1).join(' ')}`);
const started = Date.now();
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: runs } });
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => {
  console.log(`fuzz: ${code === 0 ? 'passed' : 'FAILED'} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code ?? (signal ? 1 : 0));
});
