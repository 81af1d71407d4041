// Figure 3: outage. `clients` clients of one library against one server process; steady
// traffic (one ~100-byte message per client every `intervalMs`), then a burst, then the server
// is SIGKILLed at once (so the burst is in flight), stays down `downMs`, and a new server
// process is started on the same port. Measured from the restart: reconnection percentiles,
// the handshake storm (server-side upgrades per 100 ms), and the fate of every message the
// application sent (delivered = its echo / room broadcast came back to the sender).
import { startServer, startClient } from '../lib/servers.mjs';
import { summariseRuns, percentile } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const OUTAGE_LIBS = [
  { lib: 'ours', server: 'ours', ours: true },
  { lib: 'reconnecting-websocket', server: 'ws' },
  { lib: 'partysocket', server: 'ws' },
  { lib: 'socket.io-client', server: 'sio' },
];

/** Connected clients and handshakes per `bucketMs` from `from` to `to` (for the chart). */
function timeline(reports, upgrades, from, to, bucketMs = 100) {
  const n = Math.ceil((to - from) / bucketMs);
  const connected = new Array(n).fill(0);
  const handshakes = new Array(n).fill(0);
  for (const c of reports) {
    const ev = [...c.opens.map(([t]) => [t, 1]), ...c.closes.map((t) => [t, -1])].sort((a, b) => a[0] - b[0]);
    for (let b = 0; b < n; b++) {
      const t = from + (b + 1) * bucketMs;
      let up = 0;
      for (const [et, d] of ev) {
        if (et > t) break;
        up = d > 0 ? 1 : 0;
      }
      connected[b] += up;
    }
  }
  for (const t of upgrades) {
    const b = Math.floor((t - from) / bucketMs);
    if (b >= 0 && b < n) handshakes[b]++;
  }
  return { from, bucketMs, connected, handshakes };
}

/** One outage run for one library. */
async function outageOnce({ lib, server, clients, downMs, intervalMs, maxBackMs, settleMs, serverConfig, log }) {
  let srv = await startServer(server, serverConfig);
  const port = srv.port;
  const base = `ws://127.0.0.1:${port}`;
  const worker = startClient(`outage-${lib}`);
  try {
    // ours talks to a room (its sender gets the room broadcast back); peers use a plain echo
    const rooms = server === 'ours' ? Array.from({ length: clients }, (_, i) => `o${i}`) : null;
    await worker.request('open', { lib, base, n: clients, rooms, concurrency: 25 }, 120_000);
    await worker.request('traffic', { intervalMs });
    await sleep(Math.max(1000, intervalMs * 2));
    await worker.request('burst');
    const tKill = Date.now();
    await srv.worker.kill('SIGKILL');
    await sleep(downMs);
    srv = await startServer(server, { ...serverConfig, port });
    const tRestart = srv.at;
    // wait until every client reported an open after the restart, bounded
    let back = 0;
    const deadline = Date.now() + maxBackMs;
    while (Date.now() < deadline) {
      await sleep(250);
      back = (await srv.worker.request('count', {}, 10_000)).connections;
      if (back >= clients) break;
    }
    await sleep(Math.max(1000, intervalMs * 2));
    await worker.request('stop');
    await sleep(settleMs);
    const reports = await worker.request('report', {}, 60_000);
    const { upgrades } = await srv.worker.request('stats', {}, 10_000);
    return analyse({ reports, upgrades, tKill, tRestart, clients });
  } finally {
    await worker.request('close', {}, 5_000).catch(() => {});
    await worker.kill('SIGKILL');
    await srv.worker.kill('SIGTERM');
  }
}

/** Turn raw client/server records into the outage figures. */
export function analyse({ reports, upgrades, tKill, tRestart, clients }) {
  const backAt = [];
  // sent, delivered, lost, duplicated, pending (sender not reconnected by the end of the window)
  const msgs = { inflight: [0, 0, 0, 0, 0], outage: [0, 0, 0, 0, 0], all: [0, 0, 0, 0, 0] };
  for (const c of reports) {
    const reopen = c.opens.find(([t]) => t >= tRestart);
    const reconnectedAt = reopen ? reopen[0] : Infinity;
    if (reopen) backAt.push(reopen[0] - tRestart);
    const recv = new Map(c.recv);
    for (const [id, t] of c.sent) {
      const r = recv.get(id);
      const kinds = ['all'];
      if (t < tKill && (!r || r[1] > tKill)) kinds.push('inflight');
      else if (t >= tKill && t < reconnectedAt) kinds.push('outage');
      for (const k of kinds) {
        const m = msgs[k];
        m[0]++;
        if (r) {
          m[1]++;
          m[3] += r[0] - 1;
        } else if (reopen) m[2]++;
        else m[4]++;
      }
    }
  }
  backAt.sort((a, b) => a - b);
  const at = (p) => {
    const need = Math.ceil((p / 100) * clients);
    return backAt.length >= need ? backAt[need - 1] : null;
  };
  const after = upgrades.filter((t) => t >= tRestart);
  const buckets = new Map();
  for (const t of after) {
    const b = Math.floor((t - tRestart) / 100);
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  const obj = (m) => ({ sent: m[0], delivered: m[1], lost: m[2], duplicated: m[3], pending: m[4] });
  return {
    figures: {
      back50Ms: at(50),
      back99Ms: at(99),
      back100Ms: at(100),
      reconnected: backAt.length,
      peakHandshakesPer100ms: Math.max(0, ...buckets.values()),
      handshakesAfterRestart: after.length,
      inflightSent: msgs.inflight[0],
      inflightDelivered: msgs.inflight[1],
      inflightLost: msgs.inflight[2],
      inflightDuplicated: msgs.inflight[3],
      inflightPending: msgs.inflight[4],
      outageSent: msgs.outage[0],
      outageDelivered: msgs.outage[1],
      outageLost: msgs.outage[2],
      outageDuplicated: msgs.outage[3],
      outagePending: msgs.outage[4],
      allSent: msgs.all[0],
      allLost: msgs.all[2],
      allDuplicated: msgs.all[3],
      allPending: msgs.all[4],
      p50ReconnectSample: percentile(backAt, 50),
    },
    messages: { inflight: obj(msgs.inflight), outage: obj(msgs.outage), all: obj(msgs.all) },
    timeline: timeline(reports, upgrades, tKill - 1000, tRestart + 10_000),
    tKill,
    tRestart,
  };
}

export async function runOutage({ runs, clients, downMs = 3000, intervalMs = 500, maxBackMs = 30_000, settleMs = 3000, libs = OUTAGE_LIBS, log = () => {}, oursServerConfig = () => ({}) }) {
  const out = {};
  for (const { lib, server } of libs) {
    const results = [];
    let chart = null;
    for (let r = 0; r < runs; r++) {
      const serverConfig = server === 'ours' ? oursServerConfig(`outage-${r}`) : {};
      try {
        const res = await outageOnce({ lib, server, clients, downMs, intervalMs, maxBackMs, settleMs, serverConfig, log });
        results.push(res.figures);
        if (!chart) chart = { ...res.timeline, tKill: res.tKill, tRestart: res.tRestart };
        const f = res.figures;
        log(`outage ${lib} run ${r + 1}: back 50% ${f.back50Ms} ms, 99% ${f.back99Ms} ms, 100% ${f.back100Ms} ms; peak ${f.peakHandshakesPer100ms}/100ms; in flight ${f.inflightSent} sent ${f.inflightLost} lost ${f.inflightDuplicated} dup ${f.inflightPending} pending; outage ${f.outageSent} sent ${f.outageLost} lost ${f.outageDuplicated} dup ${f.outagePending} pending`);
      } catch (err) {
        log(`outage ${lib} run ${r + 1} failed: ${err.message}`);
        results.push({ error: String(err.message).slice(0, 300) });
      }
    }
    out[lib] = { ...summariseRuns(results.filter((x) => !x.error)), errors: results.filter((x) => x.error).map((x) => x.error), chart };
  }
  return out;
}
