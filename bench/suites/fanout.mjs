// Figure 5b: fan-out. One publisher process and one subscriber process (`subscribers` clients),
// all in one room of one server process; 100-byte messages. Throughput: `count` messages sent
// as fast as the publisher's own copies return (at most `window` outstanding); deliveries per
// second = subscribers x messages / (last delivery - first send). Latency: `rateHz` messages per
// second for `latencyMs`, one-way publisher -> subscriber, p50/p99 over every delivery. Sends,
// receptions and the message stamps are all read from the clock both client processes share
// (`shared()` in clients/worker.mjs: the system's monotonic clock), so these differences between
// two processes carry no clock offset.
import { startServer, startClient } from '../lib/servers.mjs';
import { summariseRuns, percentile } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const FANOUT_VARIANTS = [
  { name: 'ws (raw broadcast)', lib: 'ws', server: 'ws', config: {} },
  // the publisher sends beyond the default 100 frames/s: the rate limit is off (a policy, not a cost)
  { name: 'ours (in-memory)', lib: 'ours', server: 'ours', config: { serverOptions: { maxMessagesPerSecond: 0 } }, ours: true },
  { name: 'Socket.IO 4.8', lib: 'socket.io-client', server: 'sio', config: {} },
];

async function fanoutOnce({ variant, subscribers, count, window, rateHz, latencyMs, maxMs }) {
  const srv = await startServer(variant.server, variant.config);
  const subs = startClient('fanout-subs');
  const pub = startClient('fanout-pub');
  try {
    const base = `ws://127.0.0.1:${srv.port}`;
    const rooms = ['fan'];
    await subs.request('open', { lib: variant.lib, base, n: subscribers, rooms, concurrency: 25, seqMode: true }, 120_000);
    await pub.request('open', { lib: variant.lib, base, n: 1, rooms, seqMode: true }, 30_000);
    await sleep(500);
    // throughput
    const cpu = async () => ({ subs: await subs.request('cpu'), srv: await srv.worker.request('cpu') });
    const cpuMs = (a, b) => (b.user + b.system - a.user - a.system) / 1000;
    const c0 = await cpu();
    // t0 (publisher) and each subscriber's `last` reception are on the shared clock
    const { t0 } = await pub.request('publish', { count, prefix: 'f', window, maxMs }, maxMs + 10_000);
    // poll a cheap count; the full report (with every latency sample) is fetched once at the end,
    // so serialising it never competes with the deliveries being measured
    const wait = async (prefix, expect) => {
      const end = Date.now() + maxMs;
      while ((await subs.request('seqCount', { prefix }, 30_000)).got < expect && Date.now() < end) await sleep(100);
      const cpuAt = await cpu();
      const rep = await subs.request('report', { withLatency: prefix === 'l' }, 60_000);
      const s = rep.map((c) => c.seq?.[prefix] ?? { got: 0, dup: 0, gap: 0, last: 0 });
      return { rep, s, got: s.reduce((a, x) => a + x.got, 0), cpuAt };
    };
    const th = await wait('f', subscribers * count);
    const last = Math.max(...th.s.map((x) => x.last));
    const c1 = th.cpuAt;
    // latency at a fixed rate
    const n = Math.round((rateHz * latencyMs) / 1000);
    const c2 = await cpu();
    await pub.request('publish', { count: n, prefix: 'l', rateHz, maxMs }, maxMs + 10_000);
    const lt = await wait('l', subscribers * n);
    const c3 = lt.cpuAt;
    const lats = lt.rep.flatMap((c) => c.lat ?? []);
    return {
      deliveriesPerSec: (th.got / (last - t0)) * 1000,
      lost: subscribers * count - th.got,
      // messages that overtook an earlier one (per subscriber stream; 0 when order holds)
      outOfOrder: th.s.reduce((a, x) => a + x.gap, 0),
      duplicated: th.s.reduce((a, x) => a + x.dup, 0),
      latencyP50Ms: percentile(lats, 50),
      latencyP99Ms: percentile(lats, 99),
      latencySamples: lats.length,
      // where the time goes: CPU per 1,000 deliveries in the subscriber process (all 100
      // clients) and in the server, during the throughput phase
      subscriberCpuMsPer1k: (cpuMs(c0.subs, c1.subs) / th.got) * 1000,
      serverCpuMsPer1k: (cpuMs(c0.srv, c1.srv) / th.got) * 1000,
      // share of one core the subscriber process used during the fixed-rate phase
      subscriberCpuShareAtRate: cpuMs(c2.subs, c3.subs) / Math.max(1, latencyMs),
    };
  } finally {
    await pub.kill('SIGKILL');
    await subs.kill('SIGKILL');
    await srv.worker.kill('SIGKILL');
  }
}

export async function runFanout({ runs, subscribers = 100, count, window = 100, rateHz = 200, latencyMs, maxMs = 60_000, variants = FANOUT_VARIANTS, log = () => {} }) {
  const out = {};
  for (const variant of variants) {
    const results = [];
    for (let r = 0; r < runs; r++) {
      try {
        const f = await fanoutOnce({ variant, subscribers, count, window, rateHz, latencyMs, maxMs });
        results.push(f);
        log(`fanout ${variant.name} run ${r + 1}: ${Math.round(f.deliveriesPerSec)} deliveries/s, p50 ${f.latencyP50Ms?.toFixed(2)} ms, p99 ${f.latencyP99Ms?.toFixed(2)} ms, CPU/1k deliveries: subscribers ${f.subscriberCpuMsPer1k.toFixed(1)} server ${f.serverCpuMsPer1k.toFixed(1)}, subscriber core share at rate ${f.subscriberCpuShareAtRate.toFixed(2)}, lost ${f.lost}, dup ${f.duplicated}`);
      } catch (err) {
        log(`fanout ${variant.name} run ${r + 1} failed: ${err.message}`);
        results.push({ error: String(err.message).slice(0, 300) });
      }
    }
    out[variant.name] = { ...summariseRuns(results.filter((x) => !x.error)), errors: results.filter((x) => x.error).map((x) => x.error) };
  }
  return out;
}
