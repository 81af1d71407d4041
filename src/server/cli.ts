/**
 * The `resilient-socket-server` command: the reference server with pino logs, stopped cleanly by
 * SIGTERM / SIGINT.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ResilientSocketError } from '../protocol/index.js';
import { createServer } from './server.js';
import type { ServerOptions } from './options.js';

/** The `--help` text. */
export const USAGE = `Usage: resilient-socket-server [options]

Runs the resilient-socket reference server (WebSocket protocol v1, /healthz, /metrics).

Options:
  --port <n>            port to listen on; 0 picks a free one (default 8080)
  --host <addr>         address to bind (default 127.0.0.1; use 0.0.0.0 to accept remote clients)
  --path <path>         only accept WebSocket upgrades on this path (default: any)
  --backlog <n>         connections the kernel may queue before the server takes them
                        (default 4096, capped by net.core.somaxconn)
  --redis <url>         share sessions and streams through Redis (default: in-memory store)
  --redis-prefix <p>    key prefix in Redis (default: the Redis store's own)
  --session-ttl <ms>    keep a disconnected session this long (default 300000)
  --instance-heartbeat-interval <ms>
                        with --redis: how often this instance proves it is alive (default 5000)
  --instance-ttl <ms>   with --redis: silence after which an instance counts as dead and its
                        sessions are detached to expire (default 15000)
  --max-payload <bytes>             largest accepted frame (default 1048576)
  --max-rooms-per-session <n>       (default 100)
  --max-messages-per-second <n>     per connection, token bucket; 0 = off (default 100)
  --max-message-burst <n>           the bucket's size (default 2000)
  --max-sessions-per-user <n>       live sessions per authenticated user; 0 = off (default 100)
  --max-outbox <n>                  entries kept in a session's direct stream (default 1000)
  --max-buffered-bytes <bytes>      send buffer before a slow consumer is cut (default 8388608)
  --max-pending-handshakes <n>      connections awaiting a handshake answer (default 10000)
  --max-failed-resumes <n>          wrong-token resumes per address per minute (default 10)
  --retention-max-count <n>         history kept per stream (default 1000)
  --retention-max-age <ms>          history kept per stream (default 3600000)
  --tombstone-ttl <ms>              how long an expired session is remembered (default 86400000)
  --stream-idle-ttl <ms>            forget a room or outbox idle this long (no message, read or
                                    member): a client back later is told epoch_changed; 0 = never;
                                    at least --session-ttl and --retention-max-age (default 604800000)
  --allowed-origins <list>          comma-separated Origin headers browsers may connect from
                                    (default: any; non-browser clients send none and pass)
  --state <module>      versioned state: a plain JS ES module exporting applyEvent (and
                        optionally initialState); long rebuilds run in worker threads
  --demo                serve the demo page at / and the UMD bundle
  --faults              enable POST /_faults/disconnect (tests and demos only)
  --log-level <level>   pino level: fatal, error, warn, info, debug, trace, silent (default info)
  -h, --help            show this text

Logs are JSON lines on stdout; the first one, "listening", carries the server's url.
`;

function integer(value: string | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', `--${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/**
 * Numeric flags that map one-to-one onto a server option: flag, option, least value. Each is
 * range-checked by `integer()` here and validated again by the server's own option parsing.
 */
const NUMERIC_FLAGS = [
  ['backlog', 'backlog', 1],
  ['session-ttl', 'sessionTtl', 1],
  ['instance-heartbeat-interval', 'instanceHeartbeatInterval', 1],
  ['instance-ttl', 'instanceTtl', 2],
  ['max-payload', 'maxPayload', 1],
  ['max-rooms-per-session', 'maxRoomsPerSession', 1],
  ['max-messages-per-second', 'maxMessagesPerSecond', 0],
  ['max-message-burst', 'maxMessageBurst', 1],
  ['max-sessions-per-user', 'maxSessionsPerUser', 0],
  ['max-outbox', 'maxOutbox', 1],
  ['max-buffered-bytes', 'maxBufferedBytes', 1],
  ['max-pending-handshakes', 'maxPendingHandshakes', 1],
  ['max-failed-resumes', 'maxFailedResumes', 1],
  ['tombstone-ttl', 'tombstoneTtl', 0],
  ['stream-idle-ttl', 'streamIdleTtl', 0],
] as const satisfies readonly (readonly [string, keyof ServerOptions, number])[];

/** Parse the command line into server options; `help` when the usage was asked for. */
export function parseCli(argv: string[]): { help: true } | { help: false; options: ServerOptions; logLevel: string } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      ...Object.fromEntries(NUMERIC_FLAGS.map(([flag]) => [flag, { type: 'string' as const }])),
      'retention-max-count': { type: 'string' },
      'retention-max-age': { type: 'string' },
      'allowed-origins': { type: 'string' },
      state: { type: 'string' },
      demo: { type: 'boolean' },
      faults: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  const options: ServerOptions = {
    port: integer(values.port, 'port', 0, 65535) ?? 8080,
    host: values.host ?? '127.0.0.1',
    demo: values.demo ?? false,
    faults: values.faults ?? false,
  };
  if (values.path !== undefined) options.path = values.path;
  const numbers = options as Record<string, unknown>;
  for (const [flag, option, min] of NUMERIC_FLAGS) {
    const n = integer((values as Record<string, string | boolean | undefined>)[flag] as string | undefined, flag, min);
    if (n !== undefined) numbers[option] = n;
  }
  const maxCount = integer(values['retention-max-count'], 'retention-max-count', 1);
  const maxAgeMs = integer(values['retention-max-age'], 'retention-max-age', 1);
  if (maxCount !== undefined || maxAgeMs !== undefined) {
    options.retention = { ...(maxCount !== undefined ? { maxCount } : {}), ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) };
  }
  if (values['allowed-origins'] !== undefined) {
    const origins = values['allowed-origins'].split(',').map((o) => o.trim()).filter(Boolean);
    if (origins.length === 0) throw new ResilientSocketError('ERR_INVALID_OPTION', '--allowed-origins needs at least one origin');
    options.allowedOrigins = origins;
  }
  // The reducer module is loaded by the engine (main thread and workers) from its file URL.
  if (values.state !== undefined) options.state = { reducerModule: pathToFileURL(resolve(values.state)).href };
  if (values.redis !== undefined) options.store = { redis: values.redis, ...(values['redis-prefix'] !== undefined ? { keyPrefix: values['redis-prefix'] } : {}) };
  else if (values['redis-prefix'] !== undefined) throw new ResilientSocketError('ERR_INVALID_OPTION', '--redis-prefix needs --redis');
  return { help: false, options, logLevel: values['log-level'] ?? 'info' };
}

/** Run the CLI. Resolves when the server has stopped after a signal. */
export async function main(argv: string[]): Promise<void> {
  const parsed = parseCli(argv);
  if (parsed.help) {
    process.stdout.write(USAGE);
    return;
  }
  const logger = pino({ level: parsed.logLevel, base: { name: 'resilient-socket-server' } });
  const server = await createServer({ ...parsed.options, logger });
  logger.info({ url: server.url, port: server.port, store: server.store.kind, demo: Boolean(parsed.options.demo), faults: parsed.options.faults, state: parsed.options.state !== undefined }, 'listening');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      // A second signal while closing exits at once.
      process.once(signal, () => process.exit(1));
      server.close().then(
        () => {
          logger.info({}, 'stopped');
          logger.flush?.();
          resolve();
        },
        (err: unknown) => {
          logger.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
