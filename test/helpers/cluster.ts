/**
 * Several reference-server PROCESSES sharing one Redis: start them on port 0, read each one's url
 * from its "listening" log line, SIGKILL one, restart it on the same port, tear everything down.
 *
 * The CLI is bundled from `src/` with esbuild (once per test process) into a private directory
 * inside `node_modules` (so `ws`, `pino`, `ioredis` resolve), with the Redis store as its own
 * chunk at `stores/redis.js`, where the server's lazy `import('./stores/redis.js')` finds it.
 * That keeps the tests independent of `dist/`, which a concurrent `npm run build` may wipe.
 *
 * Teardown kills only the pids this helper started and deletes only its key prefix.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { REDIS_URL, deleteKeys, uniquePrefix } from './redis.js';

const root = resolve(import.meta.dirname, '../..');

/** Options of {@link Cluster.start}. */
export interface ClusterOptions {
  /** Number of server processes (default 2). */
  size?: number;
  /** Redis every process shares (default `REDIS_URL`). */
  redisUrl?: string;
  /** Key prefix (default: a fresh `uniquePrefix('cluster')`). Deleted by `close()`. */
  keyPrefix?: string;
  /** Extra CLI arguments for every process, or per process index (e.g. `['--faults', '--session-ttl', '2000']`). */
  args?: string[] | ((index: number) => string[]);
  /** Extra environment variables for every process. */
  env?: Record<string, string>;
  /** A process that has not logged "listening" within this many ms fails the start (default 15000). */
  startTimeoutMs?: number;
  /** CLI script to run instead of the bundle built from `src/` (e.g. `bin/resilient-socket-server.mjs`). */
  entry?: string;
}

/** One server process of a {@link Cluster}. */
export interface Instance {
  readonly index: number;
  /** Port it listens on (kept across `restart`). */
  port: number;
  /** `ws://127.0.0.1:<port>`. */
  url: string;
  /** `http://127.0.0.1:<port>` (for /healthz, /metrics, /_faults). */
  httpUrl: string;
  /** The process id of the current process. */
  pid: number;
  /** Every stdout/stderr line of every process that ran at this index, in order. */
  lines: string[];
  /** True while the current process runs. */
  alive: boolean;
  /** @internal */
  child: ChildProcess;
  /** @internal resolves with the exit code / signal */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let bundle: { dir: string; entry: string; users: number } | undefined;
let building: Promise<string> | undefined;

/** Bundle the CLI from `src/` (once per test process); returns the entry script. */
async function bundleCli(): Promise<string> {
  if (bundle !== undefined) {
    bundle.users++;
    return bundle.entry;
  }
  building ??= (async () => {
    const dir = mkdtempSync(join(root, 'node_modules', '.cluster-cli-'));
    const main = join(dir, 'main.ts');
    writeFileSync(
      main,
      `import { main } from ${JSON.stringify(join(root, 'src/server/cli.ts'))};\n` +
        `main(process.argv.slice(2)).catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });\n`,
    );
    await build({
      entryPoints: { cli: main, 'stores/redis': join(root, 'src/server/stores/redis.ts') },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outdir: dir,
      outExtension: { '.js': '.js' },
      logLevel: 'silent',
    });
    bundle = { dir, entry: join(dir, 'cli.js'), users: 0 };
    // A test process that ends without closing its clusters still leaves no bundle behind.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return bundle.entry;
  })();
  const entry = await building;
  bundle!.users++;
  return entry;
}

function releaseBundle(): void {
  if (bundle === undefined) return;
  bundle.users--;
  if (bundle.users > 0) return;
  rmSync(bundle.dir, { recursive: true, force: true });
  bundle = undefined;
  building = undefined;
}

/** Several server processes sharing one Redis under one key prefix. */
export class Cluster {
  /** Key prefix every process uses. */
  readonly keyPrefix: string;
  /** Redis URL every process uses. */
  readonly redisUrl: string;
  readonly instances: Instance[] = [];
  readonly #entry: string;
  readonly #options: ClusterOptions;
  readonly #ownsBundle: boolean;
  #closed = false;

  private constructor(entry: string, ownsBundle: boolean, options: ClusterOptions) {
    this.#entry = entry;
    this.#ownsBundle = ownsBundle;
    this.#options = options;
    this.keyPrefix = options.keyPrefix ?? uniquePrefix('cluster');
    this.redisUrl = options.redisUrl ?? REDIS_URL;
  }

  /** Start `size` processes in parallel on port 0; resolves when each has logged its url. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const entry = options.entry ?? (await bundleCli());
    const cluster = new Cluster(entry, options.entry === undefined, options);
    try {
      const size = options.size ?? 2;
      await Promise.all(Array.from({ length: size }, (_, i) => cluster.#spawn(i, 0)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The instance at `index`. */
  at(index: number): Instance {
    const instance = this.instances[index];
    if (instance === undefined) throw new Error(`no instance ${index}`);
    return instance;
  }

  /** `ws://` urls of all instances, by index. */
  get urls(): string[] {
    return this.instances.map((i) => i.url);
  }

  /** Add one more process (port 0); returns its index. */
  async add(): Promise<number> {
    const index = this.instances.length;
    await this.#spawn(index, 0);
    return index;
  }

  /** Send `signal` (default SIGKILL) to instance `index` and wait until it has exited. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const instance = this.at(index);
    if (!instance.alive) return;
    instance.child.kill(signal);
    await instance.exited;
  }

  /** Start instance `index` again (after `kill`) on the same port; resolves with its url. */
  async restart(index: number): Promise<string> {
    const instance = this.at(index);
    if (instance.alive) throw new Error(`instance ${index} is still running (kill it first)`);
    await this.#spawn(index, instance.port);
    return instance.url;
  }

  /** `/healthz` of instance `index`: HTTP status and body. */
  async health(index: number): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.at(index).httpUrl}/healthz`);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: res.status, body };
  }

  /** Parsed JSON log lines of instance `index` (non-JSON lines skipped). */
  logs(index: number): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.at(index).lines) {
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    return out;
  }

  /** Kill every process this cluster started (SIGTERM, then SIGKILL after 3 s) and delete its keys. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.instances.map(async (instance) => {
        if (!instance.alive) return;
        instance.child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (instance.alive) instance.child.kill('SIGKILL');
        }, 3000);
        await instance.exited;
        clearTimeout(timer);
      }),
    );
    if (this.#ownsBundle) releaseBundle();
    await deleteKeys(this.keyPrefix).catch(() => undefined);
  }

  async #spawn(index: number, port: number): Promise<void> {
    if (this.#closed) throw new Error('cluster closed');
    const extra = typeof this.#options.args === 'function' ? this.#options.args(index) : (this.#options.args ?? []);
    const args = [this.#entry, '--port', String(port), '--redis', this.redisUrl, '--redis-prefix', this.keyPrefix, ...extra];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.#options.env } });
    const previous = this.instances[index];
    const lines = previous?.lines ?? [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      child.once('exit', (code, signal) => {
        instance.alive = false;
        done({ code, signal });
      });
    });
    const instance: Instance = previous ?? ({ index, port, url: '', httpUrl: '', pid: 0, lines, alive: true, child, exited } as Instance);
    Object.assign(instance, { child, exited, alive: true, pid: child.pid ?? 0 });
    this.instances[index] = instance;

    const listening = new Promise<string>((done, fail) => {
      let partial = '';
      const onData = (chunk: Buffer): void => {
        partial += chunk.toString();
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          if (line === '') continue;
          lines.push(line);
          if (!line.includes('"listening"')) continue;
          try {
            const log = JSON.parse(line) as { msg?: string; url?: string };
            if (log.msg === 'listening' && typeof log.url === 'string') done(log.url);
          } catch {
            // not a log line
          }
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then(({ code, signal }) => fail(new Error(`instance ${index} exited (${code ?? signal}) before listening:\n${lines.slice(-20).join('\n')}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`instance ${index} did not log "listening" within ${this.#options.startTimeoutMs ?? 15_000} ms:\n${lines.slice(-20).join('\n')}`)), this.#options.startTimeoutMs ?? 15_000);
    });
    try {
      const url = await Promise.race([listening, timeout]);
      const parsed = new URL(url);
      instance.url = url;
      instance.port = Number(parsed.port);
      instance.httpUrl = `http://${parsed.host}`;
    } catch (error) {
      if (instance.alive) child.kill('SIGKILL');
      await exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
