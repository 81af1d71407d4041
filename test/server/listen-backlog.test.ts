/**
 * The `backlog` option: the listening socket's accept queue. A storm of reconnects overflowed
 * Node's default of 511 whenever the event loop was busy for a moment, and every dropped SYN cost
 * its client a 1 s TCP retransmit.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/server/options.js';
import { parseCli } from '../../src/server/cli.js';
import { createServer } from '../../src/server/index.js';

/** The backlog of the socket listening on `port`, as Linux reports it (`ss`: Send-Q); null elsewhere. */
function listenBacklog(port: number): number | null {
  if (process.platform !== 'linux') return null;
  let out: string;
  try {
    out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  } catch {
    return null;
  }
  const line = out.split('\n').find((l) => l.trim() !== '');
  return line === undefined ? null : Number(line.trim().split(/\s+/)[2]);
}

function somaxconn(): number {
  try {
    return Number(execFileSync('cat', ['/proc/sys/net/core/somaxconn'], { encoding: 'utf8' }).trim());
  } catch {
    return 4096;
  }
}

describe('backlog', () => {
  it('defaults to 4096, takes a positive integer, refuses anything else with ERR_INVALID_OPTION', () => {
    expect(resolveOptions({}).backlog).toBe(4096);
    expect(resolveOptions({ backlog: 64 }).backlog).toBe(64);
    for (const bad of [0, -1, 1.5, '64'] as unknown[]) {
      expect(() => resolveOptions({ backlog: bad as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: 'options.backlog must be an integer >= 1' }));
    }
    const parsed = parseCli(['--backlog', '64']);
    expect(parsed.help ? undefined : parsed.options.backlog).toBe(64);
    expect(() => parseCli(['--backlog', '0'])).toThrow('--backlog must be an integer from 1');
  });

  it('is the listening socket’s accept queue (read back from the kernel where `ss` can tell)', async () => {
    const custom = await createServer({ port: 0, backlog: 7 });
    const standard = await createServer({ port: 0 });
    try {
      const seen = [listenBacklog(custom.port), listenBacklog(standard.port)];
      if (seen[0] === null) return; // not Linux, or no `ss`: the option tests above stand
      expect(seen[0]).toBe(7);
      // the kernel caps a backlog at net.core.somaxconn
      expect(seen[1]).toBe(Math.min(4096, somaxconn()));
    } finally {
      await custom.close();
      await standard.close();
    }
  });
});
