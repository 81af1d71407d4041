// A client process of the bench: drives one library's clients on command from the parent.
// Commands: cost (one connection, pipelined echo), open (a fleet), traffic/burst/stop, report,
// publish (fixed-rate or windowed), close.
import { serve, cpuMs, closeFleet } from '../lib/rpc.mjs';
import { adapter } from './adapters.mjs';
import { startProfiler } from '../lib/profiler.mjs';

// BENCH_CPU_PROF=<dir>: profile this process until the `profile` command (bench/README.md).
const profiler = await startProfiler('client-worker');

// Durations inside this process use `now()`, fan-out stamps `shared()` (below). Every other
// timestamp another process compares against (opens, closes, attempts, sends, receptions vs. the
// parent's cut, kill and restore times and the servers' upgrade log) uses the wall clock, `Date.now()`:
// `performance.timeOrigin + performance.now()` is this process's wall clock at start plus a
// monotonic count, so after a wall-clock step it disagrees with every other process's
// `Date.now()` (a storm run once saw every missed message 3 s *before* the proxy let anyone in).
const now = () => performance.timeOrigin + performance.now();
// Fan-out stamps (a publisher's send time in the message, a subscriber's receptions, the
// throughput window) are compared between the publisher and the subscriber process at
// sub-millisecond scale, which neither clock above allows: each process's `timeOrigin` is taken
// on its own at start (processes disagree by up to a few ms), and `Date.now()` has 1 ms steps.
// `process.hrtime()` reads the system's monotonic clock (CLOCK_MONOTONIC on Linux, counted from
// boot and shared by every process on the machine, never stepped), so a difference between two
// processes' readings is a true duration. In ms, as a float.
const shared = () => {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
};
const payload = (i, size) => {
  const head = `${i}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Pipelined echo through one connection: `count` messages, at most `window` unanswered. */
async function cost({ lib, base, room, count, window, size, maxMs }) {
  const a = await adapter(lib);
  let sent = 0;
  let got = 0;
  let bad = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const outstanding = new Set();
  let h;
  const pump = () => {
    while (sent < count && sent - got < window) {
      const id = `m${sent}`;
      outstanding.add(id);
      h.send({ id, data: payload(sent, size) });
      sent++;
    }
  };
  const onMessage = (m) => {
    const i = Number(m.id?.slice(1));
    if (!outstanding.delete(m.id) || m.data !== payload(i, size)) bad++;
    got++;
    if (got >= count) done();
    else pump();
  };
  h = await a.connect({ base, room, onMessage });
  // warm-up outside the measurement is not done: the first messages pay for JIT like in an app.
  const cpu0 = process.cpuUsage();
  const t0 = now();
  pump();
  const timeout = sleep(maxMs).then(() => 'timeout');
  const r = await Promise.race([finished, timeout]);
  const elapsedMs = now() - t0;
  const cpu = cpuMs(cpu0);
  h.close();
  return { count, received: got, missing: outstanding.size, bad, elapsedMs, cpuMs: cpu, timedOut: r === 'timeout' };
}

// ---------------------------------------------------------------- fleets

const fleet = [];
let trafficTimer = null;

/** Open `n` clients (indices from `first`), `concurrency` handshakes at a time. */
async function open({ lib, base, n, first = 0, rooms, concurrency = 50, seqMode = false, maxMs = 120_000 }) {
  const a = await adapter(lib);
  const deadline = Date.now() + maxMs;
  let next = 0;
  const one = async () => {
    while (next < n && Date.now() < deadline) {
      const idx = first + next++;
      const room = rooms ? rooms[idx % rooms.length] : null;
      const c = { idx, room, attempts: [], opens: [], closes: [], sent: [], recv: new Map(), seq: seqMode ? new Map() : null, lat: [], k: 0, h: null };
      fleet.push(c);
      c.h = await a.connect({
        base,
        room,
        onAttempt: () => c.attempts.push(Date.now()),
        onOpen: (info) => c.opens.push([Date.now(), info?.recovered ? 1 : 0]),
        onClose: () => c.closes.push(Date.now()),
        onMessage: (m) => receive(c, m),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, one));
  return { opened: fleet.length };
}

function receive(c, m) {
  const id = String(m.id);
  if (c.seq) {
    // compared with the publisher's stamps: the shared clock
    const t = shared();
    // ordered stream `prefix<k>`: count, duplicates, gaps without keeping every id
    const p = id.replace(/\d+$/, '');
    const k = Number(id.slice(p.length));
    let s = c.seq.get(p);
    if (!s) c.seq.set(p, (s = { next: 0, got: 0, dup: 0, gap: 0, first: t, last: t }));
    s.got++;
    s.last = t;
    if (k === s.next) s.next++;
    else if (k < s.next) s.dup++;
    else {
      s.gap += k - s.next;
      s.next = k + 1;
    }
    // one-way latency only for the fixed-rate phase (prefix `l`), not for saturation runs
    if (p === 'l' && typeof m.t === 'number' && c.lat.length < 200_000) c.lat.push(t - m.t);
    return;
  }
  const r = c.recv.get(id);
  if (r) r[0]++;
  else c.recv.set(id, [1, Date.now()]);
}

function sendOne(c) {
  const id = `c${c.idx}-${c.k++}`;
  c.sent.push([id, Date.now()]);
  try {
    c.h.send({ id, t: now(), data: payload(c.k, 100) });
  } catch {
    c.sent[c.sent.length - 1].push('threw');
  }
}

/** Every client sends one message every `intervalMs` (staggered), until `stop`. */
function traffic({ intervalMs }) {
  stopTraffic();
  let i = 0;
  const perTick = Math.max(1, Math.ceil(fleet.length / (intervalMs / 10)));
  trafficTimer = setInterval(() => {
    for (let j = 0; j < perTick && fleet.length; j++) sendOne(fleet[i++ % fleet.length]);
  }, 10);
  return {};
}
function stopTraffic() {
  if (trafficTimer) clearInterval(trafficTimer);
  trafficTimer = null;
  return {};
}

/**
 * Publisher: `count` messages `prefix<k>` from client 0 (which must be in the room, in seq
 * mode), either at `rateHz` or as fast as its own copies come back with at most `window`
 * outstanding, so no buffer anywhere grows without bound.
 */
async function publish({ count, prefix = 'f', size = 100, rateHz = 0, window = 100, maxMs = 120_000 }) {
  const c = fleet[0];
  const own = () => c.seq?.get(prefix)?.got ?? 0;
  // `t0`, `t1` and every message's `t` are on the shared clock, like the subscribers' receptions
  const t0 = shared();
  const deadline = Date.now() + maxMs;
  let k = 0;
  for (; k < count && Date.now() < deadline; k++) {
    if (rateHz > 0) {
      const wait = t0 + (k * 1000) / rateHz - shared();
      if (wait > 1) await sleep(wait);
    } else {
      while (k - own() >= window && Date.now() < deadline) await sleep(1);
    }
    c.h.send({ id: `${prefix}${k}`, t: shared(), data: payload(k, size) });
  }
  return { t0, t1: shared(), sent: k };
}

/**
 * Progress of a recovery: per client, how many of the `expect` messages `<room>-<tag><k>` it
 * holds, duplicates, when the last arrived, and whether it reconnected after `since`.
 * `early`/`earlyClients`: messages (clients) received before `since` — none can be, if the
 * proxy held every connection until `since`, so any makes the run invalid.
 */
function progress({ tag, expect, since }) {
  let early = 0;
  let earlyClients = 0;
  let complete = 0;
  let got = 0;
  let dup = 0;
  let lastAt = 0;
  let recovered = 0;
  let reconnected = 0;
  const catchUp = []; // per complete client: last missed message - its reconnection (ms)
  const back = []; // per reconnected client: its first open after `since` - since (ms)
  const handshake = []; // per reconnected client: that open - its last attempt before it (ms)
  let missingReconnected = 0; // missed messages absent at clients that did reconnect
  for (const c of fleet) {
    let n = 0;
    let last = 0;
    let e = 0;
    for (let k = 0; k < expect; k++) {
      const r = c.recv.get(`${c.room}-${tag}${k}`);
      if (!r) continue;
      n++;
      dup += r[0] - 1;
      if (r[1] > last) last = r[1];
      if (r[1] < since) e++;
    }
    early += e;
    if (e) earlyClients++;
    if (last > lastAt) lastAt = last;
    got += n;
    const re = c.opens.find(([t]) => t >= since);
    if (n === expect) {
      complete++;
      if (re) catchUp.push(Math.max(0, last - re[0]));
    }
    if (re) {
      back.push(re[0] - since);
      const tried = c.attempts.filter((t) => t <= re[0]).pop();
      if (tried !== undefined && tried >= since) handshake.push(re[0] - tried);
      reconnected++;
      if (re[1]) recovered++;
      missingReconnected += expect - n;
    }
  }
  return { clients: fleet.length, complete, got, dup, lastAt, recovered, reconnected, catchUp, back, handshake, missingReconnected, early, earlyClients };
}

function report({ withLatency = false } = {}) {
  return fleet.map((c) => ({
    idx: c.idx,
    room: c.room,
    attempts: c.attempts,
    opens: c.opens,
    closes: c.closes,
    sent: c.sent,
    recv: c.seq ? null : [...c.recv],
    seq: c.seq ? Object.fromEntries(c.seq) : null,
    lat: withLatency ? c.lat : null,
  }));
}

async function close() {
  stopTraffic();
  closeFleet(fleet);
  return {};
}

/** Total messages received with `prefix` across the fleet (seq mode): a cheap progress poll. */
function seqCount({ prefix }) {
  let got = 0;
  for (const c of fleet) got += c.seq?.get(prefix)?.got ?? 0;
  return { got };
}

serve({
  cost,
  open,
  progress,
  seqCount,
  traffic,
  burst: () => (fleet.forEach(sendOne), {}),
  stop: stopTraffic,
  publish,
  report,
  close,
  cpu: () => {
    profiler?.mark();
    return process.cpuUsage();
  },
  profile: async () => ({ file: profiler ? await profiler.stop() : null }),
});
