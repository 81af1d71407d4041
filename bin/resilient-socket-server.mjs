#!/usr/bin/env node
// The reference server's CLI; the code lives in dist/server/cli.js (see src/server/cli.ts).
import { main } from '../dist/server/cli.js';

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
