/**
 * The server process of the chaos soak: the reference server on Redis, with versioned state (a
 * counter per room, one event per `dispatch`) and short heartbeats, so half-open connections made
 * by the proxy's stalls are noticed within seconds. The CLI has no state option, so the soak
 * bundles this file instead (see `bundleSoakServer`). Takes the arguments `Cluster` passes:
 * `--port`, `--redis`, `--redis-prefix`; logs `{"msg":"listening","url":…}` like the CLI.
 */
import { parseArgs } from 'node:util';
import { createServer } from '../../src/server/index.js';
import { RedisStore } from '../../src/server/stores/redis.js';
import type { Json } from '../../src/protocol/index.js';

const { values } = parseArgs({
  options: { port: { type: 'string' }, redis: { type: 'string' }, 'redis-prefix': { type: 'string' } },
  strict: false,
});
const log = (msg: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg, ...extra })}\n`);
};
const store = new RedisStore({ url: String(values.redis), keyPrefix: String(values['redis-prefix']) });
const server = await createServer({
  port: Number(values.port ?? 0),
  host: '127.0.0.1',
  store,
  sessionTtl: 300_000,
  heartbeatInterval: 1000,
  heartbeatTimeout: 1500,
  pingInterval: 3000,
  instanceHeartbeatInterval: 1000,
  instanceTtl: 3000,
  state: {
    sessionState: false,
    applyEvent: (state: Json): Json => ({ n: ((state as { n?: number } | null)?.n ?? 0) + 1 }),
    initialState: () => ({ n: 0 }),
    retransmitMs: 2000,
  },
  logger: {
    debug: () => {},
    info: (obj, msg) => log(msg ?? '', obj as Record<string, unknown>),
    warn: (obj, msg) => log(msg ?? '', { ...(obj as Record<string, unknown>), level: 40 }),
    error: (obj, msg) => log(msg ?? '', { ...(obj as Record<string, unknown>), level: 50 }),
  },
});
log('listening', { url: server.url });
const stop = async (): Promise<void> => {
  await server.close();
  await store.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
