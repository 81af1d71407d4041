/**
 * A real Redis restart: the test runs its own throwaway redis-server on a free loopback port
 * (no persistence), SIGKILLs it and starts it again, and checks what a RedisStore does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { RedisStore } from '../../src/server/stores/redis.js';
import { freePort } from '../helpers/free-port.js';
import type { StreamEntry } from '../../src/server/stores/store.js';
import { KEEP_ALL, entry, until } from './conformance-context.js';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedisServer) console.warn('\n!!! redis-server binary not found: SKIPPING the Redis restart test !!!\n');

let server: ChildProcess | undefined;


async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  await until(() => output.includes('Ready to accept connections') || child.exitCode !== null, 'redis-server to start', 10_000);
  if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

afterEach(async () => {
  if (server !== undefined) await kill(server);
  server = undefined;
});

describe.skipIf(!hasRedisServer)('RedisStore across a Redis restart', () => {
  it('refuses with ERR_STORE_UNAVAILABLE while Redis is down, then recovers by itself with a new epoch for lost history', async () => {
    const port = await freePort();
    server = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const listener = new RedisStore({ url, keyPrefix: 'restart:', onError: () => undefined, commandTimeoutMs: 1000 });
    const writer = new RedisStore({ url, keyPrefix: 'restart:', onError: () => undefined, commandTimeoutMs: 1000 });
    try {
      await listener.ping();
      await writer.ping();
      const seen: StreamEntry[] = [];
      const control: string[] = [];
      await listener.subscribe('room:r', (e) => seen.push(e));
      listener.onControl((m) => control.push(m.sessionId));
      await writer.append('room:r', entry('m1'), KEEP_ALL);
      await writer.append('room:r', entry('m2'), KEEP_ALL);
      await until(() => seen.length === 2, 'm1 and m2');
      const before = seen[0]!.epoch;

      await kill(server);
      // Once the client has noticed, every call is refused with the retryable code.
      let refusal: unknown;
      for (let i = 0; i < 200 && refusal === undefined; i++) {
        refusal = await writer.append('room:r', entry('lost'), KEEP_ALL).then(() => undefined, (error: unknown) => error);
        if (refusal === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(refusal).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', closeCode: 4005 });
      await expect(listener.getSession('s')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });

      server = await startRedis(port);
      // Write as soon as the writer is back, without waiting for the listener: its subscription
      // may still be down, and then pub/sub misses these entries; the listener must still see
      // them, from the new epoch's start (filled from the stream), in order and once.
      let up = false;
      for (let i = 0; i < 400 && !up; i++) {
        up = await writer.ping().then(() => true, () => false);
        if (!up) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(up).toBe(true);

      // The history died with that Redis: the stream restarts under a new epoch, so clients are
      // told (epoch_changed) instead of silently missing messages.
      const after = await writer.append('room:r', entry('m3'), KEEP_ALL);
      expect(after).toMatchObject({ status: 'appended', entry: { offset: 1 } });
      expect(after.status === 'appended' && after.entry.epoch).not.toBe(before);
      await writer.append('room:r', entry('m4'), KEEP_ALL);
      let listening = false;
      for (let i = 0; i < 400 && !listening; i++) {
        listening = await listener.ping().then(() => true, () => false);
        if (!listening) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(listening).toBe(true);
      await writer.append('room:r', entry('m5'), KEEP_ALL);
      await until(() => seen.length === 5, 'the entries written after the restart', 10_000);
      // The subscription is back (it delivered or filled m5): control messages flow again.
      await writer.publishControl({ kind: 'end', sessionId: 'back' });
      await until(() => control.length === 1, 'a control message after the restart', 10_000);
      expect(seen.map((e) => [e.epoch === before ? 'old' : 'new', e.offset, e.id])).toEqual([
        ['old', 1, 'm1'],
        ['old', 2, 'm2'],
        ['new', 1, 'm3'],
        ['new', 2, 'm4'],
        ['new', 3, 'm5'],
      ]);
    } finally {
      await listener.close();
      await writer.close();
    }
  });
});
