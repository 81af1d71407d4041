// Figure 4: recovery storm. `clients` clients in `rooms` rooms reach the server through a
// loopback TCP proxy; the proxy resets every connection at once and refuses new ones, the
// server publishes `perRoom` messages to every room, the proxy lets clients back in. Measured
// from that moment: time until every client holds every missed message, sessions recovered,
// messages lost and duplicated, and the server process's CPU time over that interval.
// A run in which the cut did not hold (connections left at the server or the proxy, or a missed
// message received before the restore) measures nothing: it is retried, never reported.
import { startServer, startClient } from '../lib/servers.mjs';
import { Worker } from '../lib/proc.mjs';
import { SCRIPTS } from '../lib/servers.mjs';
import { summariseRuns, percentile } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuMs = (a, b) => (b.user + b.system - a.user - a.system) / 1000;

/** Variants: client library, server kind and server config. */
export const STORM_VARIANTS = [
  { name: 'ours (in-memory)', lib: 'ours', server: 'ours', config: {}, ours: true },
  { name: 'ours (Redis)', lib: 'ours', server: 'ours', config: { redis: true }, ours: true },
  { name: 'Socket.IO 4.8 recovery (in-memory)', lib: 'socket.io-client', server: 'sio', config: { recovery: true } },
  { name: 'Socket.IO 4.8 recovery (Redis Streams adapter)', lib: 'socket.io-client', server: 'sio', config: { recovery: true, redis: true } },
];

async function stormOnce({ variant, clients, rooms, perRoom, cutMs, maxMs, serverConfig, processes }) {
  const srv = await startServer(variant.server, serverConfig);
  const proxy = new Worker(SCRIPTS.proxy, { args: [JSON.stringify({ target: srv.port })], name: 'proxy' });
  const workers = [];
  try {
    const { port } = await proxy.next('listening', 10_000);
    const base = `ws://127.0.0.1:${port}`;
    const roomNames = Array.from({ length: rooms }, (_, i) => `r${i}`);
    const per = Math.ceil(clients / processes);
    for (let p = 0; p < processes; p++) workers.push(startClient(`storm-${p}`));
    await Promise.all(
      workers.map((w, p) => w.request('open', { lib: variant.lib, base, n: Math.min(per, clients - p * per), first: p * per, rooms: roomNames, concurrency: 25 }, 180_000)),
    );
    // one live message per room first: Socket.IO only recovers a client that holds an offset
    for (const room of roomNames) await srv.worker.request('publish', { room, count: 1, prefix: `${room}-w` }, 60_000);
    await sleep(1000);
    await proxy.request('cut');
    const tCut = Date.now();
    // wait until the server has seen every disconnect (bounded)
    const deadline = Date.now() + 15_000;
    let left = (await srv.worker.request('count')).connections;
    while (left > 0 && Date.now() < deadline) {
      await sleep(100);
      left = (await srv.worker.request('count')).connections;
    }
    for (const room of roomNames) await srv.worker.request('publish', { room, count: perRoom, prefix: `${room}-s` }, 60_000);
    // the same time away for every variant, however long its server took to publish
    const publishMs = Date.now() - tCut;
    await sleep(Math.max(0, tCut + cutMs - Date.now()));
    const cpu0 = await srv.worker.request('cpu');
    const clientCpu0 = await Promise.all(workers.map((w) => w.request('cpu')));
    const proxyCpu0 = await proxy.request('cpu').catch(() => null);
    const { at: tRestore, held, refused } = await proxy.request('restore');
    let agg;
    const end = Date.now() + maxMs;
    for (;;) {
      await sleep(200);
      const parts = await Promise.all(workers.map((w) => w.request('progress', { tag: 's', expect: perRoom, since: tRestore }, 30_000)));
      agg = parts.reduce((a, b) => ({
        clients: a.clients + b.clients,
        complete: a.complete + b.complete,
        got: a.got + b.got,
        dup: a.dup + b.dup,
        lastAt: Math.max(a.lastAt, b.lastAt),
        recovered: a.recovered + b.recovered,
        reconnected: a.reconnected + b.reconnected,
        catchUp: a.catchUp.concat(b.catchUp),
        back: a.back.concat(b.back),
        handshake: a.handshake.concat(b.handshake),
        missingReconnected: a.missingReconnected + b.missingReconnected,
        early: a.early + b.early,
        earlyClients: a.earlyClients + b.earlyClients,
      }));
      if (agg.complete >= clients || Date.now() > end) break;
    }
    const cpu1 = await srv.worker.request('cpu');
    const clientCpu1 = await Promise.all(workers.map((w) => w.request('cpu')));
    const proxyCpu1 = proxyCpu0 && (await proxy.request('cpu').catch(() => null));
    const expected = clients * perRoom;
    const allMs = agg.complete >= clients ? agg.lastAt - tRestore : null;
    const invalid = [];
    if (left > 0) invalid.push(`${left} connection(s) still open at the server 15 s after the cut`);
    if (held > 0) invalid.push(`${held} proxied connection(s) open at the restore`);
    if (agg.early > 0) invalid.push(`${agg.early} missed message(s) at ${agg.earlyClients} client(s) received before the restore`);
    if (allMs !== null && allMs < 0) invalid.push(`negative time ${allMs} ms`);
    return {
      invalid: invalid.length ? `the cut did not hold: ${invalid.join('; ')}` : null,
      allMs,
      // the server's share: from each client's reconnection to its last missed message
      catchUpP50Ms: percentile(agg.catchUp, 50),
      catchUpMaxMs: agg.catchUp.length ? Math.max(...agg.catchUp) : null,
      // when the clients reconnected, from the restore: the reconnect policy's share
      backP50Ms: percentile(agg.back, 50),
      backP99Ms: percentile(agg.back, 99),
      backMaxMs: agg.back.length ? Math.max(...agg.back) : null,
      // from a client's connection attempt to its open: the server's (and the machine's) share
      handshakeP50Ms: percentile(agg.handshake, 50),
      handshakeP99Ms: percentile(agg.handshake, 99),
      complete: agg.complete,
      recoveredSessions: agg.recovered,
      reconnected: agg.reconnected,
      // lost: missing at a client that reconnected; pending: its client had not reconnected
      lost: agg.missingReconnected,
      pending: expected - agg.got - agg.missingReconnected,
      duplicated: agg.dup,
      serverCpuMs: cpuMs(cpu0, cpu1),
      // the client processes' and the proxy's CPU over the same interval (they share the machine)
      clientCpuMs: clientCpu0.reduce((sum, c, i) => sum + cpuMs(c, clientCpu1[i]), 0),
      proxyCpuMs: proxyCpu1 ? cpuMs(proxyCpu0, proxyCpu1) : null,
      awayMs: tRestore - tCut,
      publishMs,
      refusedWhileAway: refused,
    };
  } finally {
    // client profiles (BENCH_CPU_PROF) are written before the kill
    if (process.env.BENCH_CPU_PROF) for (const w of workers) await w.request('profile', {}, 30_000).catch(() => {});
    for (const w of workers) await w.kill('SIGKILL');
    await proxy.kill('SIGKILL');
    await srv.worker.request('close', {}, 5_000).catch(() => {});
    await srv.worker.kill('SIGKILL');
  }
}

/** Retries of a run whose cut did not hold, before it is recorded as an error. */
const MAX_RETRIES = 2;

export async function runStorm({ runs, clients, rooms = 10, perRoom = 50, cutMs = 3000, maxMs = 60_000, processes = 2, variants = STORM_VARIANTS, log = () => {}, redisPrefix }) {
  const out = {};
  for (const variant of variants) {
    const results = [];
    for (let r = 0; r < runs; r++) {
      let done = null;
      for (let attempt = 0; attempt <= MAX_RETRIES && !done; attempt++) {
        const serverConfig = { ...variant.config };
        if (serverConfig.redis) serverConfig.redisPrefix = redisPrefix(`storm-${r}-${attempt}`);
        if (variant.server === 'ours') serverConfig.sessionTtl = 600_000;
        const label = `storm ${variant.name} run ${r + 1}${attempt ? ` (retry ${attempt} of ${MAX_RETRIES})` : ''}`;
        try {
          const { invalid, ...f } = await stormOnce({ variant, clients, rooms, perRoom, cutMs, maxMs, serverConfig, processes });
          if (invalid) {
            log(`${label} INVALID, not reported: ${invalid} (all missed in ${f.allMs} ms)${attempt < MAX_RETRIES ? '; retrying' : `; no valid run after ${MAX_RETRIES} retries`}`);
            if (attempt === MAX_RETRIES) done = { error: `invalid after ${MAX_RETRIES} retries: ${invalid}`.slice(0, 300) };
            continue;
          }
          done = { ...f, retries: attempt };
          log(`${label}: all missed in ${f.allMs} ms (reconnected p50 ${f.backP50Ms} / p99 ${f.backP99Ms} / max ${f.backMaxMs} ms after the restore, attempt to open p50 ${f.handshakeP50Ms} / p99 ${f.handshakeP99Ms} ms; catch-up after reconnect p50 ${f.catchUpP50Ms} / max ${f.catchUpMaxMs} ms), ${f.complete}/${clients} complete, recovered ${f.recoveredSessions}, lost ${f.lost}, pending ${f.pending}, dup ${f.duplicated}, server CPU ${f.serverCpuMs.toFixed(0)} ms (clients ${f.clientCpuMs.toFixed(0)}, proxy ${f.proxyCpuMs?.toFixed(0)}), away ${f.awayMs} ms (publishing took ${f.publishMs} ms, ${f.refusedWhileAway} reconnects refused)`);
        } catch (err) {
          log(`${label} failed: ${err.message}`);
          done = { error: String(err.message).slice(0, 300) };
        }
      }
      results.push(done);
    }
    out[variant.name] = { ...summariseRuns(results.filter((x) => !x.error)), errors: results.filter((x) => x.error).map((x) => x.error) };
  }
  return out;
}
