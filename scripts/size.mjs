#!/usr/bin/env node
// `npm run size`: min, gzip and brotli of our browser bundles (the shipped UMD and ESM files,
// and the ESM entry re-bundled by esbuild the way an application would), with the peers beside
// them for scale. Builds dist/ first when it is missing. `--json` prints JSON instead of a table.
import { ensureDist } from '../bench/lib/ours.mjs';
import { runSize } from '../bench/suites/size.mjs';

const note = ensureDist();
if (note) console.error(`size: ${note}`);
const rows = await runSize();
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const kb = (n) => (n === undefined ? '-' : `${(n / 1024).toFixed(2)} KB`);
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'bundle'.padEnd(w)}  ${'min'.padStart(10)}  ${'gzip'.padStart(10)}  ${'brotli'.padStart(10)}`);
  for (const r of rows) {
    const line = r.error
      ? `failed: ${r.error}`
      : `${kb(r.min).padStart(10)}  ${kb(r.gzip).padStart(10)}  ${kb(r.brotli).padStart(10)}`;
    console.log(`${(r.ours ? r.name : r.name).padEnd(w)}  ${line}`);
  }
}
