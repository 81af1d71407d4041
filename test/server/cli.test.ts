import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli, USAGE } from '../../src/server/cli.js';
import { TestClient } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let entry: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  // Node 20 cannot run the TypeScript sources: bundle the CLI the way bin/ would call it.
  // Inside the package so `ws`, `pino` and `prom-client` resolve from its node_modules.
  dir = mkdtempSync(join(root, 'node_modules', '.cli-test-'));
  entry = join(dir, 'cli.mjs');
  await build({
    stdin: {
      contents: "import { main } from './src/server/cli.ts'; main(process.argv.slice(2)).catch((e) => { console.error(e.message); process.exit(1); });",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: entry,
    logLevel: 'silent',
  });
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): { child: ChildProcess; lines: () => string[]; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [entry, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines: () => out.split('\n').filter(Boolean), output: () => out, exited };
}

/** The url of the CLI's first "listening" log line. */
async function listeningUrl(proc: ReturnType<typeof run>): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const line of proc.lines()) {
      try {
        const log = JSON.parse(line) as { msg?: string; url?: string };
        if (log.msg === 'listening' && log.url) return log.url;
      } catch {
        // not a log line
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the CLI logged no url:\n${proc.output()}`);
}

describe('cli', () => {
  it('parses its options with defaults (127.0.0.1:8080, memory store)', () => {
    expect(parseCli([])).toEqual({ help: false, logLevel: 'info', options: { port: 8080, host: '127.0.0.1', demo: false, faults: false } });
    expect(parseCli(['--port', '0', '--redis', 'redis://x', '--redis-prefix', 'p:', '--session-ttl', '1000', '--faults'])).toMatchObject({
      options: { port: 0, store: { redis: 'redis://x', keyPrefix: 'p:' }, sessionTtl: 1000, faults: true },
    });
    expect(() => parseCli(['--port', 'abc'])).toThrow('--port must be an integer from 0 to 65535');
    expect(() => parseCli(['--nope'])).toThrow();
    expect(parseCli(['-h'])).toEqual({ help: true });
    const withState = parseCli(['--state', 'demo/reducer.mjs']);
    expect(withState.help ? undefined : withState.options.state).toEqual({ reducerModule: pathToFileURL(join(process.cwd(), 'demo/reducer.mjs')).href });
  });

  it('maps every limit flag onto its server option and refuses bad values with a coded error', () => {
    const parsed = parseCli([
      '--max-payload', '2048', '--max-rooms-per-session', '7', '--max-messages-per-second', '0', '--max-message-burst', '50',
      '--max-sessions-per-user', '3', '--max-outbox', '20', '--max-buffered-bytes', '65536', '--max-pending-handshakes', '9',
      '--max-failed-resumes', '4', '--tombstone-ttl', '0', '--retention-max-count', '30', '--retention-max-age', '60000',
      '--instance-ttl', '9000', '--backlog', '64', '--allowed-origins', 'https://a.example, https://b.example',
    ]);
    expect(parsed.help ? undefined : parsed.options).toMatchObject({
      maxPayload: 2048, maxRoomsPerSession: 7, maxMessagesPerSecond: 0, maxMessageBurst: 50, maxSessionsPerUser: 3,
      maxOutbox: 20, maxBufferedBytes: 65536, maxPendingHandshakes: 9, maxFailedResumes: 4, tombstoneTtl: 0,
      retention: { maxCount: 30, maxAgeMs: 60000 }, instanceTtl: 9000, backlog: 64, allowedOrigins: ['https://a.example', 'https://b.example'],
    });
    const only = parseCli(['--retention-max-age', '5']);
    expect(only.help ? undefined : only.options.retention).toEqual({ maxAgeMs: 5 });
    expect(() => parseCli(['--max-payload', '0'])).toThrow('--max-payload must be an integer from 1');
    expect(() => parseCli(['--max-outbox', '1.5'])).toThrow('--max-outbox must be an integer');
    expect(() => parseCli(['--allowed-origins', ' , '])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    // every flag the usage text lists with a value is one the parser accepts
    const listed = [...USAGE.matchAll(/^  --([a-z-]+) <([a-z]+)>/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(listed.length).toBeGreaterThan(15);
    for (const [flag, kind] of listed) {
      const value = kind === 'n' || kind === 'ms' || kind === 'bytes' ? '5' : 'x';
      expect(() => parseCli([`--${flag}`, value]), flag).not.toThrow(/Unknown option/);
    }
  });

  it('enforces limits given as flags: an oversized frame gets ERR_PAYLOAD_TOO_LARGE, a foreign Origin is refused', async () => {
    const proc = run(['--port', '0', '--max-payload', '512', '--allowed-origins', 'https://app.example']);
    const url = await listeningUrl(proc);
    const foreign = await TestClient.open(url, { origin: 'https://evil.example' });
    expect((await foreign.closed).code).toBe(4007);
    const client = await TestClient.open(url, { origin: 'https://app.example' });
    expect((await client.hello()).type).toBe('NEW_SESSION');
    client.send({ type: 'MESSAGE', seq: 1, id: 'big', data: 'x'.repeat(2000) });
    expect((await client.closed).code).toBe(1009);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('prints --help and exits 0', async () => {
    const { output, exited } = run(['--help']);
    expect(await exited).toBe(0);
    expect(output()).toBe(USAGE);
  });

  it('runs versioned state from a --state reducer module: a room counter folds each event once', async () => {
    const proc = run(['--port', '0', '--state', 'demo/reducer.mjs']);
    const url = await listeningUrl(proc);
    const client = await TestClient.open(url);
    await client.hello(['counter']);
    client.send({ type: 'STATE_EVENT', seq: 1, scope: 'room:counter', event: { add: 1 } });
    client.send({ type: 'STATE_EVENT', seq: 2, scope: 'room:counter', event: { add: 1 } });
    client.send({ type: 'STATE_EVENT', seq: 3, scope: 'room:counter', event: { add: 5 } }); // refused by the reducer
    const acks = [await client.next('ACK'), await client.next('ACK'), await client.next('ACK')];
    expect(acks.map((a) => [a.seq, a.version, a.error?.code])).toEqual([
      [1, 1, undefined],
      [2, 2, undefined],
      [3, undefined, 'ERR_STATE_REJECTED'],
    ]);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('runs a server on --port 0, logs its url, serves clients and stops on SIGTERM', async () => {
    const proc = run(['--port', '0', '--faults']);
    const url = await listeningUrl(proc);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const client = await TestClient.open(url);
    expect((await client.hello()).type).toBe('NEW_SESSION');
    proc.child.kill('SIGTERM');
    expect((await client.closed).code).toBe(1001);
    expect(await proc.exited).toBe(0);
    expect(proc.lines().some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(proc.lines().join('\n')).not.toContain('resumeToken');
  });
});
