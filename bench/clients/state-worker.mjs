// A client process of the state figure (bench/suites/state.mjs): a fleet of clients in one room,
// each bound to the room's shared state, dispatching `{ c, n }` events on a fixed schedule and
// recording what every dispatch promise did and when its replica reached each version.
// Commands: open, start, mark, status, check, close, cpu.
// Every timestamp compared with the parent's (kill, restart) is `Date.now()` (see worker.mjs).
import { serve, closeFleet } from '../lib/rpc.mjs';
import { countingWs, firstOpen } from './ours-adapter.mjs';
import { OURS, url } from '../lib/ours.mjs';
import { join, dirname } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Our client: `resilient-socket/state` (dist/state.js), joined to `room`, its state bound. */
async function connectOurs(c, { base, room }) {
  const { ReconnectingWebSocket } = await import(url(join(dirname(OURS.nodeEsm), 'state.js')));
  const scope = `room:${room}`;
  const client = new ReconnectingWebSocket(`${base}/`, { mode: 'protocol', WebSocket: countingWs(() => c.attempts.push(Date.now())) });
  client.on('state', (ch) => {
    if (ch.scope === scope) c.onState(ch.version);
  });
  client.on('open', () => c.opens.push(Date.now()));
  client.on('close', () => c.closes.push(Date.now()));
  client.on('error', () => {});
  await firstOpen(client);
  await client.join(room);
  return {
    // resolves { version } (absent: settled by a resume or acknowledged as a duplicate), rejects with the server's code
    dispatch: (event) => client.dispatch(scope, event),
    held: () => client.getState(scope) ?? null,
    bytes: () => ({ bytesIn: client.stats.bytesIn, framesIn: client.stats.framesIn }),
    close: () => client.close(),
  };
}

/**
 * The Socket.IO peer, as an application writes it on Socket.IO 4.8 (which has no state sync):
 * `emitWithAck('dispatch', event)` with socket.io-client's `retries` / `ackTimeout` (the client
 * queues and re-sends until acknowledged), the server applies the reducer to state held in its
 * memory and broadcasts the full `{ version, value }` to the room (sio-state-server.mjs).
 */
async function connectSio(c, { base, room, sioRetries, sioAckTimeoutMs }) {
  const { io } = await import('socket.io-client');
  let held = null;
  // the first state after a (re)connect is taken whatever its version (a restarted server starts again at 0)
  let fresh = true;
  let bytesIn = 0;
  let framesIn = 0;
  c.attempts.push(Date.now());
  const socket = io(base, { transports: ['websocket'], forceNew: true, query: { room }, retries: sioRetries, ackTimeout: sioAckTimeoutMs });
  socket.io.on('reconnect_attempt', () => c.attempts.push(Date.now()));
  socket.io.on('open', () => {
    // every engine.io message received (the socket.io packet inside it, as text)
    socket.io.engine.on('data', (d) => {
      framesIn++;
      bytesIn += typeof d === 'string' ? Buffer.byteLength(d) : (d.byteLength ?? 0);
    });
  });
  socket.on('state', (s) => {
    if (fresh || held === null || s.version > held.version) {
      fresh = false;
      held = { version: s.version, value: s.value };
      c.onState(s.version);
    }
  });
  socket.on('connect', () => {
    fresh = true;
    c.opens.push(Date.now());
  });
  socket.on('disconnect', () => c.closes.push(Date.now()));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket.io: no connect within 30 s')), 30_000);
    socket.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
  });
  return {
    dispatch: async (event) => {
      const r = await socket.emitWithAck('dispatch', event);
      if (r?.error) throw Object.assign(new Error(r.error), { code: r.error });
      return { version: r?.version };
    },
    held: () => held,
    bytes: () => ({ bytesIn, framesIn }),
    close: () => socket.disconnect(),
  };
}

const CONNECT = { ours: connectOurs, 'socket.io-client': connectSio };

// ---------------------------------------------------------------- the fleet

const fleet = [];
let ticker = null;
const marks = new Map();

function newClient(idx) {
  const c = { idx, attempts: [], opens: [], closes: [], dispatches: [], k: 0, version: null, versionAt: null, h: null };
  c.onState = (version) => {
    if (version !== c.version) {
      c.version = version;
      c.versionAt = Date.now();
    }
  };
  return c;
}

/** Open `n` clients (indices from `first`) in `room`, `concurrency` at a time; wait for each one's first state. */
async function open({ lib, base, room, n, first = 0, concurrency = 25, maxMs = 120_000, ...opts }) {
  const connect = CONNECT[lib];
  if (!connect) throw new Error(`no state client for ${lib}`);
  const deadline = Date.now() + maxMs;
  let next = 0;
  const failures = [];
  const one = async () => {
    while (next < n && Date.now() < deadline) {
      const c = newClient(first + next++);
      fleet.push(c);
      try {
        c.h = await connect(c, { base, room, ...opts });
      } catch (err) {
        failures.push(`client ${c.idx}: ${err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, one));
  // the room's state follows the join: a client is up once it holds a version
  while (fleet.some((c) => c.version === null) && Date.now() < deadline) await sleep(50);
  return { opened: fleet.filter((c) => c.h).length, ready: fleet.filter((c) => c.h && c.version !== null).length, failures: failures.slice(0, 5) };
}

/**
 * Every client dispatches `{ c: idx, n }` for n = 1..K, one every `intervalMs`, client `idx` at
 * phase `idx / total` of the interval from `t0` (shared by every client process), until done.
 */
function start({ K, intervalMs, total, t0 }) {
  stop();
  const due = (c) => t0 + ((c.idx % total) / total) * intervalMs + c.k * intervalMs;
  ticker = setInterval(() => {
    const now = Date.now();
    let active = false;
    for (const c of fleet) {
      if (!c.h || c.k >= K) continue;
      active = true;
      if (now < due(c)) continue;
      const n = ++c.k;
      const d = { n, at: now, settledAt: null, outcome: null, version: null, code: null };
      c.dispatches.push(d);
      let p;
      try {
        p = c.h.dispatch({ c: c.idx, n });
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (r) => {
          d.settledAt = Date.now();
          d.outcome = 'resolved';
          d.version = typeof r?.version === 'number' ? r.version : null;
        },
        (err) => {
          d.settledAt = Date.now();
          d.outcome = 'rejected';
          d.code = err?.code ?? String(err?.message ?? err).slice(0, 60);
        },
      );
    }
    if (!active) stop();
  }, 5);
  return {};
}
function stop() {
  if (ticker) clearInterval(ticker);
  ticker = null;
  return {};
}

/** Snapshot every client's received bytes/frames and version under `label`. */
function mark({ label }) {
  marks.set(
    label,
    fleet.map((c) => ({ idx: c.idx, version: c.version, ...(c.h ? c.h.bytes() : { bytesIn: 0, framesIn: 0 }) })),
  );
  return { at: Date.now() };
}

/** Progress: dispatched / settled counts, clients done, versions held; `before`: per-client dispatches before that time. */
function status({ before = null } = {}) {
  let dispatched = 0;
  let settled = 0;
  let minVersion = Infinity;
  let maxVersion = -Infinity;
  let minBefore = Infinity;
  let lastDispatchAt = 0;
  const ks = [];
  for (const c of fleet) {
    dispatched += c.dispatches.length;
    for (const d of c.dispatches) if (d.outcome) settled++;
    const v = c.version ?? -1;
    minVersion = Math.min(minVersion, v);
    maxVersion = Math.max(maxVersion, v);
    if (before !== null) minBefore = Math.min(minBefore, c.dispatches.filter((d) => d.at < before).length);
    const last = c.dispatches[c.dispatches.length - 1];
    if (last && last.at > lastDispatchAt) lastDispatchAt = last.at;
    ks.push(c.k);
  }
  return { clients: fleet.length, dispatched, settled, minVersion, maxVersion, minK: Math.min(...ks), minBefore: before === null ? null : minBefore, lastDispatchAt };
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
  return true;
}

/** Compare every replica with the server's final `{ version, value }`; per client what it dispatched and how each promise settled. */
function check({ version, value }) {
  return fleet.map((c) => {
    const held = c.h ? c.h.held() : null;
    return {
      idx: c.idx,
      version: held?.version ?? null,
      equal: held !== null && held.version === version && deepEqual(held.value, value),
      versionAt: c.versionAt,
      opens: c.opens,
      closes: c.closes,
      attempts: c.attempts.length,
      // [n, at, settledAt, outcome, version, code]
      dispatches: c.dispatches.map((d) => [d.n, d.at, d.settledAt, d.outcome, d.version, d.code]),
      marks: Object.fromEntries([...marks].map(([label, list]) => [label, list.find((m) => m.idx === c.idx) ?? null])),
    };
  });
}

async function close() {
  stop();
  closeFleet(fleet);
  return {};
}

serve({ open, start, stop, mark, status, check, close, cpu: () => process.cpuUsage() });
