// Our reference server (dist/server/index.js) on an http server that records upgrades.
// Config: { port, redis: bool, redisPrefix, sessionTtl }.
import { createServer as createHttp } from 'node:http';
import { config, listen, start, filler } from './common.mjs';
import { OURS, url } from '../lib/ours.mjs';

const cfg = config();
const { createServer } = await import(url(OURS.server));
const http = createHttp();
const upgrades = [];
http.prependListener('upgrade', () => {
  if (upgrades.length < 1_000_000) upgrades.push(Date.now());
});
const options = { server: http };
if (cfg.redis) options.store = { redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: `${cfg.redisPrefix}:` };
if (cfg.sessionTtl) options.sessionTtl = cfg.sessionTtl;
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
    close: async () => {
      await server.close();
      return {};
    },
  },
});
