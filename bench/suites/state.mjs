// Figure 6: shared state through a server kill. `clients` clients in one room, each bound to the
// room's state, dispatch `{ c, n }` (n = 1..K, one every `intervalMs`, staggered); the reducer
// (servers/state-reducer.mjs) appends n to client c's array. After a steady phase the server
// process is SIGKILLed, stays down `downMs` (clients keep dispatching: queued offline) and is
// restarted on the same port; once every client has dispatched K events the bench waits
// (bounded) until every replica holds the server's final state. The final state says, by ids,
// what was lost, duplicated or reordered; each client's replica is compared with it.
// A run whose setup did not hold (not every client up before the traffic, a client that had not
// dispatched before the kill, the restart after the last dispatch) is retried, never reported.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '../lib/servers.mjs';
import { Worker } from '../lib/proc.mjs';
import { summariseRuns, median } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuMs = (a, b) => (b.user + b.system - a.user - a.system) / 1000;
const WORKER = fileURLToPath(new URL('../clients/state-worker.mjs', import.meta.url));
export const REDUCER = fileURLToPath(new URL('../servers/state-reducer.mjs', import.meta.url));
const ROOM = 'shared';

/** Variants: client library, server kind and its config. */
export const STATE_VARIANTS = [
  { name: 'ours (Redis mode)', lib: 'ours', server: 'ours', ours: true, redis: true },
  { name: 'hand-written on Socket.IO 4.8: state in server memory', lib: 'socket.io-client', server: 'sio-state' },
];

/** Retries of a run whose setup did not hold, before it is recorded as an error. */
const MAX_RETRIES = 2;

async function stateOnce({ variant, clients, K, intervalMs, steadyMs, downMs, convergeMs, processes, serverConfig, sio, log }) {
  let srv = await startServer(variant.server, serverConfig);
  const port = srv.port;
  const base = `ws://127.0.0.1:${port}`;
  const workers = [];
  const ask = (cmd, args, ms = 30_000) => Promise.all(workers.map((w) => w.request(cmd, args, ms)));
  try {
    const per = Math.ceil(clients / processes);
    for (let p = 0; p < processes; p++) workers.push(new Worker(WORKER, { name: `state-${p}` }));
    const opened = await Promise.all(
      workers.map((w, p) => w.request('open', { lib: variant.lib, base, room: ROOM, n: Math.min(per, clients - p * per), first: p * per, concurrency: 25, ...sio }, 180_000)),
    );
    const ready = opened.reduce((s, o) => s + o.ready, 0);
    const invalid = [];
    if (ready < clients) {
      invalid.push(`only ${ready} of ${clients} clients were up (joined, holding the room's state) before the traffic: ${opened.flatMap((o) => o.failures).join('; ')}`);
      return { invalid: invalid.join('; ') };
    }
    const cpuStart = await srv.worker.request('cpu');
    const clientCpu0 = await ask('cpu');
    const t0 = Date.now() + 100;
    await ask('start', { K, intervalMs, total: clients, t0 });
    // steady phase: bytes per update between one interval in (every client has dispatched) and the kill
    await sleep(Math.max(0, t0 + intervalMs - Date.now()));
    await ask('mark', { label: 'steady0' });
    await sleep(Math.max(0, t0 + steadyMs - Date.now()));
    await ask('mark', { label: 'steady1' });
    const cpuKill = await srv.worker.request('cpu');
    const tKill = Date.now();
    await srv.worker.kill('SIGKILL');
    const atKill = await ask('status', { before: tKill });
    const minBefore = Math.min(...atKill.map((s) => s.minBefore));
    if (minBefore < 1) invalid.push('a client had dispatched nothing before the kill');
    await sleep(Math.max(0, tKill + downMs - Date.now()));
    srv = await startServer(variant.server, { ...serverConfig, port });
    const tRestart = srv.at;
    const cpuRestart = await srv.worker.request('cpu');
    // the last dispatch is due at most K intervals after t0: the restart must come before it
    if (tRestart >= t0 + (K - 1) * intervalMs) invalid.push(`the restart came ${tRestart - t0} ms after the traffic started, after the last dispatch was due`);
    // every client dispatches its K events (bounded), then the replicas converge (bounded)
    const dispatchDeadline = t0 + K * intervalMs + 30_000;
    let st;
    for (let i = 0; i < 10_000; i++) {
      st = await ask('status');
      if (st.every((s) => s.minK >= K) || Date.now() > dispatchDeadline) break;
      await sleep(200);
    }
    const tLastDispatch = Math.max(...st.map((s) => s.lastDispatchAt));
    const convergeDeadline = Date.now() + convergeMs;
    let server = null;
    let previous = -1;
    let settledAll = false;
    for (let i = 0; i < 10_000 && Date.now() < convergeDeadline; i++) {
      server = await srv.worker.request('getState', { scope: `room:${ROOM}` }, 30_000);
      st = await ask('status');
      const settled = st.reduce((s, x) => s + x.settled, 0);
      const dispatched = st.reduce((s, x) => s + x.dispatched, 0);
      settledAll = settled === dispatched;
      const minV = Math.min(...st.map((s) => s.minVersion));
      const maxV = Math.max(...st.map((s) => s.maxVersion));
      // done: every promise settled, every replica at the server's version, which did not move since the last poll
      if (settledAll && minV === server.version && maxV === server.version && server.version === previous) break;
      previous = server.version;
      await sleep(250);
    }
    const cpuEnd = await srv.worker.request('cpu');
    const clientCpu1 = await ask('cpu');
    const final = await srv.worker.request('getState', { scope: `room:${ROOM}` }, 30_000);
    const reports = (await ask('check', { version: final.version, value: final.value }, 60_000)).flat();
    const f = analyse({ reports, final, clients, K, tKill, tRestart, tLastDispatch });
    f.serverCpuMs = cpuMs(cpuStart, cpuKill) + cpuMs(cpuRestart, cpuEnd);
    f.clientCpuMs = clientCpu0.reduce((s, c, i) => s + cpuMs(c, clientCpu1[i]), 0);
    f.downMs = tRestart - tKill;
    return { invalid: invalid.length ? invalid.join('; ') : null, figures: f, findings: f.findings };
  } finally {
    for (const w of workers) await w.request('close', {}, 5_000).catch(() => {});
    for (const w of workers) await w.kill('SIGKILL');
    await srv.worker.request('close', {}, 5_000).catch(() => {});
    await srv.worker.kill('SIGKILL');
  }
}

/** The figures of one run from the final state and every client's report. */
export function analyse({ reports, final, clients, K, tKill, tRestart, tLastDispatch }) {
  const value = final.value ?? {};
  let sent = 0;
  let lost = 0;
  let duplicated = 0;
  let reordered = 0;
  let resolved = 0;
  let resolvedNoVersion = 0;
  let rejected = 0;
  let pending = 0;
  let inflightAtKill = 0;
  let duringOutage = 0;
  let diverged = 0;
  let reconnected = 0;
  const codes = new Map();
  const findings = [];
  const defects = { rejectedApplied: 0, resolvedMissing: 0, versionMismatch: 0 };
  // each version is produced by exactly one event: a version two resolved dispatches claim is a defect
  const claimed = new Map();
  const convergedAt = [];
  const bytesPerUpdate = [];
  const framesPerUpdate = [];
  for (const r of reports) {
    const arr = Array.isArray(value[r.idx]) ? value[r.idx] : [];
    const counts = new Map();
    for (const n of arr) counts.set(n, (counts.get(n) ?? 0) + 1);
    for (let i = 1; i < arr.length; i++) if (arr[i] < arr[i - 1]) reordered++;
    const dispatchedNs = new Set(r.dispatches.map((d) => d[0]));
    for (const n of dispatchedNs) if (!counts.has(n)) {
      lost++;
      findings.push(`client ${r.idx}: n=${n} missing from the final state`);
    }
    for (const [n, k] of counts) {
      if (k > 1) {
        duplicated += k - 1;
        findings.push(`client ${r.idx}: n=${n} applied ${k} times`);
      }
      if (!dispatchedNs.has(n)) findings.push(`client ${r.idx}: n=${n} in the final state but never dispatched`);
    }
    if (arr.some((n, i) => i > 0 && n < arr[i - 1])) findings.push(`client ${r.idx}: out of order: [${arr.join(',')}]`);
    const reopen = r.opens.find((t) => t >= tRestart);
    if (reopen !== undefined) reconnected++;
    for (const [n, at, settledAt, outcome, version, code] of r.dispatches) {
      sent++;
      if (at < tKill && (settledAt === null || settledAt > tKill)) inflightAtKill++;
      if (at >= tKill && (reopen === undefined || at < reopen)) duringOutage++;
      const applied = counts.has(n);
      if (outcome === 'resolved') {
        resolved++;
        if (version === null) resolvedNoVersion++;
        if (!applied) {
          defects.resolvedMissing++;
          findings.push(`client ${r.idx}: n=${n} resolved${version !== null ? ` at version ${version}` : ''} but missing from the final state`);
        }
      } else if (outcome === 'rejected') {
        rejected++;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (applied) {
          defects.rejectedApplied++;
          findings.push(`client ${r.idx}: n=${n} rejected (${code}) but applied`);
        }
      } else pending++;
      if (version !== null) {
        const other = claimed.get(version);
        if (other) {
          defects.versionMismatch++;
          findings.push(`client ${r.idx}: n=${n} resolved at version ${version}, which ${other} also resolved at`);
        } else claimed.set(version, `client ${r.idx} n=${n}`);
      }
      if (version !== null && version > final.version) {
        defects.versionMismatch++;
        findings.push(`client ${r.idx}: n=${n} resolved at version ${version}, beyond the final ${final.version}`);
      }
    }
    if (!r.equal) {
      diverged++;
      findings.push(`client ${r.idx}: replica at version ${r.version} differs from the server's final state (version ${final.version})`);
    } else if (r.versionAt !== null) convergedAt.push(r.versionAt);
    const a = r.marks.steady0;
    const b = r.marks.steady1;
    if (a && b && b.version !== null && a.version !== null && b.version > a.version) {
      bytesPerUpdate.push((b.bytesIn - a.bytesIn) / (b.version - a.version));
      framesPerUpdate.push((b.framesIn - a.framesIn) / (b.version - a.version));
    }
  }
  const allConverged = diverged === 0 && convergedAt.length === clients;
  const lastConverged = allConverged ? Math.max(...convergedAt) : null;
  return {
    convergedAfterRestartMs: lastConverged === null ? null : lastConverged - tRestart,
    convergedAfterLastDispatchMs: lastConverged === null ? null : lastConverged - tLastDispatch,
    sent,
    expected: clients * K,
    applied: Object.values(value).reduce((s, a) => s + (Array.isArray(a) ? a.length : 0), 0),
    lost,
    duplicated,
    reordered,
    resolved,
    resolvedNoVersion,
    rejected,
    rejectedCodes: [...codes].map(([c, k]) => `${c}: ${k}`).join(', ') || 'none',
    pending,
    rejectedButApplied: defects.rejectedApplied,
    resolvedButMissing: defects.resolvedMissing,
    // a resolved version beyond the final one, or claimed by two dispatches
    versionDefects: defects.versionMismatch,
    diverged,
    finalVersion: final.version,
    expectedVersion: clients * K,
    reconnected,
    inflightAtKill,
    dispatchedDuringOutage: duringOutage,
    bytesPerUpdate: median(bytesPerUpdate),
    framesPerUpdate: median(framesPerUpdate),
    fullValueBytes: Buffer.byteLength(JSON.stringify(value)),
    findings,
  };
}

export async function runState({ runs, clients, K, intervalMs = 200, steadyMs = 2000, downMs = 3000, convergeMs = 60_000, processes = 1, variants = STATE_VARIANTS, log = () => {}, redisPrefix }) {
  const out = {};
  const reducerModule = pathToFileURL(REDUCER).href;
  // socket.io-client's own re-send: `retries` (per emitWithAck, after `ackTimeout` ms each)
  const sio = { sioRetries: 10, sioAckTimeoutMs: 5000 };
  for (const variant of variants) {
    const results = [];
    const findings = [];
    for (let r = 0; r < runs; r++) {
      let done = null;
      for (let attempt = 0; attempt <= MAX_RETRIES && !done; attempt++) {
        const serverConfig =
          variant.server === 'ours'
            ? { sessionTtl: 600_000, serverOptions: { state: { reducerModule } }, ...(variant.redis ? { redis: true, redisPrefix: redisPrefix(`state-${r}-${attempt}`) } : {}) }
            : {}; // the Socket.IO server imports the reducer itself
        const label = `state ${variant.name} run ${r + 1}${attempt ? ` (retry ${attempt} of ${MAX_RETRIES})` : ''}`;
        try {
          const res = await stateOnce({ variant, clients, K, intervalMs, steadyMs, downMs, convergeMs, processes, serverConfig, sio, log });
          if (res.invalid) {
            log(`${label} INVALID, not reported: ${res.invalid}${attempt < MAX_RETRIES ? '; retrying' : `; no valid run after ${MAX_RETRIES} retries`}`);
            if (attempt === MAX_RETRIES) done = { error: `invalid after ${MAX_RETRIES} retries: ${res.invalid}`.slice(0, 300) };
            continue;
          }
          const { findings: fs, ...f } = res.figures;
          done = { ...f, retries: attempt };
          if (fs.length) findings.push({ run: r + 1, count: fs.length, first: fs.slice(0, 30) });
          log(`${label}: converged ${f.convergedAfterRestartMs} ms after the restart (${f.convergedAfterLastDispatchMs} ms after the last dispatch); sent ${f.sent}, applied ${f.applied}, lost ${f.lost}, dup ${f.duplicated}, reordered ${f.reordered}; dispatch resolved ${f.resolved} (${f.resolvedNoVersion} without version), rejected ${f.rejected} (${f.rejectedCodes}), pending ${f.pending}; defects: rejected-but-applied ${f.rejectedButApplied}, resolved-but-missing ${f.resolvedButMissing}, versions ${f.versionDefects}; diverged ${f.diverged}; version ${f.finalVersion}/${f.expectedVersion}; ${f.reconnected}/${clients} reconnected; in flight at kill ${f.inflightAtKill}, during outage ${f.dispatchedDuringOutage}; ${f.bytesPerUpdate?.toFixed(0)} B/update (${f.framesPerUpdate?.toFixed(2)} frames), full value ${f.fullValueBytes} B; CPU server ${f.serverCpuMs.toFixed(0)} ms, clients ${f.clientCpuMs.toFixed(0)} ms; down ${f.downMs} ms`);
          for (const line of fs.slice(0, 20)) log(`  FINDING ${label}: ${line}`);
        } catch (err) {
          log(`${label} failed: ${err.message}`);
          done = { error: String(err.message).slice(0, 300) };
        }
      }
      results.push(done);
    }
    out[variant.name] = { ...summariseRuns(results.filter((x) => !x.error)), errors: results.filter((x) => x.error).map((x) => x.error), findings };
  }
  return out;
}
