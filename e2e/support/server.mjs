#!/usr/bin/env node
// The reference server for the end-to-end suite, run as its own process so a test can kill it
// by pid and start it again on the same port. It loads the built package (dist/), like a user.
//
//   node e2e/support/server.mjs [--port 0] [--redis URL --prefix P]
//
// Prints one JSON line `{"port":…,"url":…,"pid":…}` on stdout once it listens; SIGTERM closes it.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from '../../dist/server/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
  },
});

const options = {
  port: Number(values.port),
  host: '127.0.0.1',
  demo: true,
  faults: true,
};
if (values.redis) options.store = { redis: values.redis, keyPrefix: values.prefix };

// The demo's shared counter (demo/reducer.mjs), loaded as a reducer module like a deployment would.
options.state = { reducerModule: fileURLToPath(new URL('../../demo/reducer.mjs', import.meta.url)), sessionState: false };

const server = await createServer(options);
process.stdout.write(JSON.stringify({ port: server.port, url: server.url, pid: process.pid }) + '\n');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
