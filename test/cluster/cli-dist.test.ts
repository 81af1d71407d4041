/**
 * The built package's command: `resilient-socket-server --redis <url>` from `bin/` (which runs
 * `dist/`) lists its Redis options, and two processes started with it share sessions through Redis.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from '../helpers/cluster.js';
import { redisAvailable } from '../helpers/redis.js';
import { Peer, until } from './peers.js';

const root = resolve(import.meta.dirname, '../..');
const bin = resolve(root, 'bin/resilient-socket-server.mjs');
const built = existsSync(resolve(root, 'dist/server/cli.js')) && existsSync(resolve(root, 'dist/server/stores/redis.js'));
if (!built) {
  if (process.env['CI'] === 'true') throw new Error('dist/ is missing: run `npm run build` before the tests');
  console.warn('\n!!! dist/ is not built: SKIPPING the built-CLI test (run `npm run build`) !!!\n');
}
const hasRedis = await redisAvailable();

describe.skipIf(!built)('resilient-socket-server from the built package', () => {
  it('lists --redis and --redis-prefix in --help', () => {
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--redis <url>/);
    expect(help.stdout).toMatch(/--redis-prefix <p>/);
  });

  describe.skipIf(!hasRedis)('with --redis', () => {
    let cluster: Cluster | undefined;
    const peers: Peer[] = [];
    afterAll(async () => {
      for (const peer of peers) peer.drop();
      await cluster?.close();
    });

    it('runs two processes on one Redis that a client resumes across', async () => {
      cluster = await Cluster.start({ size: 2, entry: bin, args: ['--faults'] });
      expect((await cluster.health(0)).body).toMatchObject({ status: 'ok', kind: 'redis' });
      let target = cluster.at(0).url;
      const client = new Peer('client', () => target);
      peers.push(client);
      await client.ws.join('room');
      target = cluster.at(1).url;
      const cut = await fetch(`${cluster.at(0).httpUrl}/_faults/disconnect?session=${encodeURIComponent(client.ws.sessionId!)}`, { method: 'POST' });
      expect(cut.status).toBe(204);
      await until(() => client.opens.length === 2, 'the resume on the second process');
      expect(client.opens[1]).toMatchObject({ recovered: true, sessionId: client.opens[0]!.sessionId });
      expect(client.urls.at(-1)).toBe(cluster.at(1).url);
    });
  });
});
