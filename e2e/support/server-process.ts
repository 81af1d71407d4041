/**
 * The reference server as a child process (e2e/support/server.mjs on the built package), so a
 * test can kill it by pid and start it again on the same port.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./server.mjs', import.meta.url));

/** Where a Redis-backed server keeps its data. */
export interface RedisOption {
  url: string;
  keyPrefix: string;
}

/** A running server process. */
export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  /** `http://127.0.0.1:<port>`: the demo page and the fault endpoint. */
  readonly origin: string;
  /** SIGKILL: no shutdown, no goodbye to the clients (a crash). */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit (a clean shutdown). */
  stop(): Promise<void>;
}

/** Start a server; `port` 0 (default) picks a free one. Resolves once it listens. */
export async function startServer(options: { port?: number; redis?: RedisOption } = {}): Promise<ServerProcess> {
  const args = [SCRIPT, '--port', String(options.port ?? 0)];
  if (options.redis) args.push('--redis', options.redis.url, '--prefix', options.redis.keyPrefix);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += String(chunk);
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the test server exited with ${String(code)} before listening:\n${stderr}`);
    }),
  ]);
  lines.close();
  const { port } = JSON.parse(first) as { port: number };
  return {
    port,
    pid: child.pid!,
    origin: `http://127.0.0.1:${port}`,
    kill: () => end(child, 'SIGKILL'),
    stop: () => end(child, 'SIGTERM'),
  };
}

async function end(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(child.pid!, signal);
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, 8000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
