#!/usr/bin/env node
// `npm run size`: min, gzip and brotli of our browser bundles (the shipped UMD and ESM files,
// and the ESM entry re-bundled by esbuild the way an application would), with the peers beside
// them for scale. Builds dist/ first when it is missing. `--json` prints JSON instead of a table;
// `--analyze` adds which source files our full bundle's bytes come from.
import { existsSync } from 'node:fs';
import { ensureDist, OURS } from '../bench/lib/ours.mjs';
import { runSize } from '../bench/suites/size.mjs';
import { bundleSize } from '../bench/lib/bundle-size.mjs';

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
    console.log(`${r.name.padEnd(w)}  ${line}`);
  }
  const full = rows.find((r) => r.ours && r.name.startsWith('resilient-socket (full') && !r.error);
  if (full) console.log(`\nfull client: ${kb(full.gzip)} gzip; target <= 6.00 KB gzip (${(full.gzip / 6144).toFixed(2)}x of the target)`);
  // dist/index.browser.js is one file: analyse the sources instead, bundled the same way
  if (process.argv.includes('--analyze') && existsSync(OURS.srcIndex)) {
    const r = await bundleSize(`export * from ${JSON.stringify(OURS.srcIndex)};`, { analyze: true });
    console.log(`\nsrc/index.ts bundled the same way: ${kb(r.min)} min, ${kb(r.gzip)} gzip${r.analysis}`);
  }
}
