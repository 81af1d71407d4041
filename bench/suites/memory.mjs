// Figure 5a: memory per disconnected session. The server process runs with --expose-gc.
// A warm-up round first runs the same cycle for half as many sessions (in rooms of their own), so
// the code the cycle needs is compiled before the baseline: the JIT's output (~2 MB of optimized
// code and feedback on a 5,000-session run, about as much for 2,500 sessions) is not a cost per
// session, and counting it made the figure depend on the number of sessions (ours: 1,056 B at
// 2,500 sessions, 764 B at 5,000; Socket.IO: 1,246 B and 919 B). A smaller warm-up (a fifth)
// still left ~100 B per session of code compiled during the measured round.
// The warm-up sessions stay (TTL 10 min) in the baseline and the final heap alike.
// Heap after GC is taken then (baseline); `sessions` clients connect in rooms of 100 and receive
// one live message; the client process is SIGKILLed (an abrupt loss, so every server keeps the
// sessions for recovery); 10 messages are published to every room; heap after GC again.
// Figure: (heapUsed after - baseline) / sessions.
import { startServer, startClient } from '../lib/servers.mjs';
import { summariseRuns } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const MEMORY_VARIANTS = [
  { name: 'ours (in-memory)', lib: 'ours', server: 'ours', config: { sessionTtl: 600_000 }, ours: true },
  { name: 'Socket.IO 4.8 recovery (in-memory)', lib: 'socket.io-client', server: 'sio', config: { recovery: true } },
];

/**
 * `sessions` clients in rooms of 100 named `<tag><i>` connect and get one live message; heap
 * then (`connected`); their processes are SIGKILLed; `missed` messages per room once the server
 * saw every disconnect.
 */
async function cycle({ srv, variant, sessions, missed, processes, tag, workers }) {
  const rooms = Array.from({ length: Math.ceil(sessions / 100) }, (_, i) => `${tag}${i}`);
  const base = `ws://127.0.0.1:${srv.port}`;
  const per = Math.ceil(sessions / processes);
  const mine = [];
  for (let p = 0; p < processes; p++) mine.push(startClient(`memory-${tag}-${p}`));
  workers.push(...mine);
  await Promise.all(mine.map((w, p) => w.request('open', { lib: variant.lib, base, n: Math.min(per, sessions - p * per), first: p * per, rooms, concurrency: 50 }, 300_000)));
  for (const room of rooms) await srv.worker.request('publish', { room, count: 1, prefix: `${room}-w` });
  await sleep(1000);
  const connected = await srv.worker.request('heap');
  for (const w of mine) await w.kill('SIGKILL');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await srv.worker.request('count')).connections > 0) await sleep(200);
  for (const room of rooms) await srv.worker.request('publish', { room, count: missed, prefix: `${room}-s` });
  await sleep(1000);
  return connected;
}

async function memoryOnce({ variant, sessions, missed, processes }) {
  const srv = await startServer(variant.server, variant.config, { execArgv: ['--expose-gc'] });
  const workers = [];
  try {
    const cold = await srv.worker.request('heap');
    await cycle({ srv, variant, sessions: Math.max(100, Math.round(sessions / 2)), missed, processes, tag: 'w', workers });
    const before = await srv.worker.request('heap', {}, 60_000);
    const connected = await cycle({ srv, variant, sessions, missed, processes, tag: 'm', workers });
    const after = await srv.worker.request('heap', {}, 60_000);
    return {
      bytesPerSession: (after.heapUsed - before.heapUsed) / sessions,
      bytesPerConnected: (connected.heapUsed - before.heapUsed) / sessions,
      heapColdMB: cold.heapUsed / 1048576,
      heapBaselineMB: before.heapUsed / 1048576,
      heapAfterMB: after.heapUsed / 1048576,
    };
  } finally {
    for (const w of workers) await w.kill('SIGKILL');
    await srv.worker.request('close', {}, 5_000).catch(() => {});
    await srv.worker.kill('SIGKILL');
  }
}

export async function runMemory({ runs, sessions, missed = 10, processes = 2, variants = MEMORY_VARIANTS, log = () => {} }) {
  const out = {};
  for (const variant of variants) {
    const results = [];
    for (let r = 0; r < runs; r++) {
      try {
        const f = await memoryOnce({ variant, sessions, missed, processes });
        results.push(f);
        log(`memory ${variant.name} run ${r + 1}: ${Math.round(f.bytesPerSession)} B per disconnected session (${Math.round(f.bytesPerConnected)} B connected)`);
      } catch (err) {
        log(`memory ${variant.name} run ${r + 1} failed: ${err.message}`);
        results.push({ error: String(err.message).slice(0, 300) });
      }
    }
    out[variant.name] = { ...summariseRuns(results.filter((x) => !x.error)), errors: results.filter((x) => x.error).map((x) => x.error) };
  }
  return out;
}
