// What every bench server process shares: config from argv, an http server on loopback that
// records each WebSocket upgrade (the handshake storm), and the standard commands.
import { createServer } from 'node:http';
import { serve, emit } from '../lib/rpc.mjs';

/** The JSON config passed as the first argument. */
export function config() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** An http server that records upgrade times (ms since epoch). */
export function httpWithUpgradeLog() {
  const server = createServer((req, res) => {
    res.writeHead(404).end();
  });
  const upgrades = [];
  server.prependListener('upgrade', () => {
    if (upgrades.length < 1_000_000) upgrades.push(Date.now());
  });
  return { server, upgrades };
}

/**
 * Listen on 127.0.0.1:`port` (0 = any), retrying while the port is still held (restart). Every
 * library's server gets the same deep accept queue (4096, capped by net.core.somaxconn; Node's
 * default is 511), so a storm's SYNs are not dropped, each drop costing its client a 1 s
 * retransmit, when the server process is descheduled for a moment.
 */
export async function listen(server, port) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '127.0.0.1', exclusive: true, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address().port;
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Serve the standard commands plus `extra`, then announce `listening` with the port. */
export function start({ port, upgrades, connections, extra = {} }) {
  serve({
    stats: () => ({ upgrades, connections: connections() }),
    // the cheap poll used while a figure is running (no upgrade log)
    count: () => ({ connections: connections() }),
    cpu: () => process.cpuUsage(),
    heap: () => {
      if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
      for (let i = 0; i < 3; i++) global.gc();
      return process.memoryUsage();
    },
    ...extra,
  });
  emit('listening', { port, pid: process.pid, at: Date.now() });
}

/** A ~`size`-byte filler string. */
export const filler = (size) => 'x'.repeat(Math.max(0, size));
