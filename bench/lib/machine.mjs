// What the figures were measured on, and with which versions.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './ours.mjs';

export const PEERS = [
  'ws',
  'reconnecting-websocket',
  'partysocket',
  'socket.io',
  'socket.io-client',
  '@socket.io/redis-streams-adapter',
  '@microsoft/signalr',
  'phoenix',
  'centrifuge',
  'redis',
  'ioredis',
  'esbuild',
];

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Machine, runtime and library versions. */
export function machine() {
  const cpus = os.cpus();
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    versions: {
      'resilient-socket': `${own.version} (${git(['rev-parse', '--short', 'HEAD']) ?? 'no git'}${git(['status', '--porcelain', '--', 'src']) ? ', src modified' : ''})`,
      ...Object.fromEntries(PEERS.map((p) => [p, version(p)])),
    },
  };
}
