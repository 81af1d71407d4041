// Figure 2a: cost per message over loopback. One client process, one server process, one
// connection; `count` messages of ~100 bytes with at most `window` unanswered; every echo is
// checked (id known and outstanding, payload identical). Client CPU from process.cpuUsage().
import { startServer, startClient } from '../lib/servers.mjs';
import { summariseRuns } from '../lib/stats.mjs';

/** Libraries measured, with the server each talks to. */
export const COST_LIBS = [
  { lib: 'ws', server: 'ws' },
  { lib: 'ours', server: 'ours', ours: true },
  { lib: 'reconnecting-websocket', server: 'ws' },
  { lib: 'partysocket', server: 'ws' },
  { lib: 'socket.io-client', server: 'sio' },
];

export async function runCost({ runs, count, window = 100, size = 100, libs = COST_LIBS, log = () => {}, oursServerConfig = {} }) {
  const out = {};
  for (const { lib, server } of libs) {
    const results = [];
    for (let r = 0; r < runs; r++) {
      // one connection sends far beyond the default 100 frames/s: the rate limit is a policy,
      // not a cost, and the peers' servers have none, so it is off here
      const srv = await startServer(server, server === 'ours' ? { serverOptions: { maxMessagesPerSecond: 0 }, ...oursServerConfig } : {});
      const client = startClient(`cost-${lib}`);
      try {
        // ours: a one-member room, so send() -> stored -> broadcast back to the sender, with ack
        const room = server === 'ours' ? `cost${r}` : null;
        const scpu0 = await srv.worker.request('cpu');
        const res = await client.request(
          'cost',
          { lib, base: `ws://127.0.0.1:${srv.port}`, room, count, window, size, maxMs: 120_000 },
          150_000,
        );
        const scpu1 = await srv.worker.request('cpu');
        const serverCpuMs = (scpu1.user + scpu1.system - scpu0.user - scpu0.system) / 1000;
        results.push({
          serverCpuMsPer1k: (serverCpuMs / res.received) * 1000,
          msgsPerSec: (res.received / res.elapsedMs) * 1000,
          cpuMsPer1k: (res.cpuMs / res.received) * 1000,
          elapsedMs: res.elapsedMs,
          missing: res.missing,
          bad: res.bad,
          timedOut: res.timedOut ? 1 : 0,
        });
        log(`cost ${lib} run ${r + 1}: ${Math.round(results.at(-1).msgsPerSec)} msg/s, ${results.at(-1).cpuMsPer1k.toFixed(1)} ms CPU/1k (server ${results.at(-1).serverCpuMsPer1k.toFixed(1)}), bad ${res.bad}, missing ${res.missing}`);
      } catch (err) {
        log(`cost ${lib} run ${r + 1} failed: ${err.message}`);
        results.push({ error: String(err.message).slice(0, 300) });
      } finally {
        await client.kill('SIGKILL');
        // `close` first, after the figures were taken: with BENCH_CPU_PROF it writes the profile
        if (server === 'ours') await srv.worker.request('close', {}, 5_000).catch(() => {});
        await srv.worker.kill('SIGKILL');
      }
    }
    out[lib] = { ...summariseRuns(results.filter((x) => !x.error)), errors: results.filter((x) => x.error).map((x) => x.error) };
  }
  return out;
}
