/**
 * A throwaway redis-server on a free loopback port, by default with an append-only file fsynced
 * on every write in a private directory, so that stopping and starting it again keeps every write.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './peers.js';

/** Whether the `redis-server` binary is there (warns loudly when it is not). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedisServer) console.warn('\n!!! redis-server binary not found: SKIPPING the Redis outage tests !!!\n');

export { freePort } from '../helpers/free-port.js';

/** One redis-server that can be stopped and started again on the same port and data. */
export class RedisProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'rs-outage-'));
  #child: ChildProcess | undefined;

  /** With `persist: false` a restart loses everything, as a Redis without persistence does. */
  constructor(
    readonly port: number,
    private readonly options: { persist?: boolean } = {},
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start it; resolves once it accepts connections. */
  async start(): Promise<void> {
    const persistence = this.options.persist === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', this.dir];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(() => output.includes('Ready to accept connections') || child.exitCode !== null, 'redis-server to start', 10_000);
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
  }

  /** Stop it with `signal` (SIGTERM: a clean shutdown; SIGKILL: a crash) and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Stop it and remove its data. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
