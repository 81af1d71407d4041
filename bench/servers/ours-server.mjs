// Our reference server (dist/server/index.js) on an http server that records upgrades.
// Config: { port, redis: bool, redisPrefix, sessionTtl, serverOptions } (serverOptions.state:
// the `state` option, its reducerModule a path or file URL, so it travels as JSON).
// BENCH_CPU_PROF=<dir>: profile this process until `close` (see "Profiling" in bench/README.md).
import { createServer as createHttp } from 'node:http';
import { config, listen, start, filler } from './common.mjs';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OURS, ROOT, url } from '../lib/ours.mjs';
import { startProfiler } from '../lib/profiler.mjs';

const cfg = config();
const profiler = await startProfiler('ours-server');

/**
 * The Redis store option. The build emits the store as dist/server/stores/redis.js; while a
 * build lacks that file, the bench bundles src/server/stores/redis.ts itself (esbuild, ioredis
 * left external) into bench/results/tmp/ and passes the store instance, so the figure exists.
 */
async function redisStore(redis, keyPrefix) {
  if (existsSync(join(dirname(OURS.server), 'stores', 'redis.js'))) return { redis, keyPrefix };
  const src = join(ROOT, 'src', 'server', 'stores', 'redis.ts');
  const out = join(ROOT, 'bench', 'results', 'tmp', `redis-store-${process.pid}.mjs`);
  const { build } = await import('esbuild');
  await build({ entryPoints: [src], outfile: out, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'silent' });
  const { RedisStore } = await import(url(out));
  rmSync(out, { force: true });
  process.stderr.write('ours-server: dist has no Redis store file; using src/server/stores/redis.ts bundled by the bench\n');
  return new RedisStore({ url: redis, keyPrefix });
}
const { createServer } = await import(url(OURS.server));
const http = createHttp();
const upgrades = [];
http.prependListener('upgrade', () => {
  if (upgrades.length < 1_000_000) upgrades.push(Date.now());
});
const options = { server: http };
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
if (cfg.redis) options.store = await redisStore(redisUrl, `${cfg.redisPrefix}:`);
if (cfg.sessionTtl) options.sessionTtl = cfg.sessionTtl;
// per-figure server options (e.g. the rate limit off for single-connection throughput figures)
Object.assign(options, cfg.serverOptions ?? {});
// attach first, then listen: no upgrade may arrive before the server handles them
const server = await createServer(options);
const port = await listen(http, cfg.port ?? 0);

start({
  port,
  upgrades,
  connections: () => server.connectionCount,
  extra: {
    publish: async ({ room, count, size = 100, prefix = 's' }) => {
      for (let i = 0; i < count; i++) await server.publish(room, { id: `${prefix}${i}`, t: performance.timeOrigin + performance.now(), data: filler(size) });
      return {};
    },
    // the state figure's final state (needs the `state` option)
    getState: async ({ scope }) => {
      const { version, value } = await server.getState(scope);
      return { version, value };
    },
    cpu: () => {
      profiler?.mark();
      return process.cpuUsage();
    },
    close: async () => {
      await server.close();
      if (profiler !== null) process.stderr.write(`ours-server: CPU profile ${await profiler.stop()}\n`);
      return {};
    },
  },
});
