// latest.md: the tables of a bench report, with each figure as "median (min–max)" over the
// runs and the ratio to the issue's targets.

const num = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d).replace(/\B(?=(\d{3})+(?!\d))/g, ','));

/** "median (min–max)" of a summary; just the value when there was one run. */
function fig(s, d = 0, unit = '') {
  if (!s || typeof s !== 'object' || s.median === null || s.median === undefined) return '–';
  const m = `${num(s.median, d)}${unit}`;
  return s.min === s.max || s.runs < 2 ? m : `${m} (${num(s.min, d)}–${num(s.max, d)})`;
}
const med = (s) => (s && typeof s === 'object' ? s.median : null);
const ratio = (a, b, d = 2) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(d)}×`);
const kb = (b) => (b === undefined ? '–' : `${(b / 1024).toFixed(2)} KB`);
const errs = (o) => (o?.errors?.length ? ` ⚠ ${o.errors.length} failed run(s)` : '');

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function renderMarkdown(report) {
  const { machine: m, results: r } = report;
  const out = [];
  out.push(`# resilient-socket benchmarks (${report.mode} run)`);
  out.push('');
  out.push(`${m.date} · ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB · ${m.platform} · Node ${m.node} · load average at start ${m.loadAverageAtStart.join(' / ')} · ${report.durationS} s`);
  out.push('');
  for (const n of report.notes) out.push(`> ${n}`);
  if (report.notes.length) out.push('');
  out.push('Figures are the median of the runs, with min–max in brackets. What each one measures: [bench/README.md](../README.md).');
  out.push('');

  if (r.size) {
    out.push('## 1. Bundle size (esbuild, ESM, browser, es2022, minified; gzip -9, brotli 11)');
    out.push('');
    out.push(
      table(
        ['bundle', 'min', 'gzip', 'brotli', 'target (full client ≤ 6 KB gzip)'],
        r.size.map((x) => [x.ours ? `**${x.name}**` : x.name, x.error ? `failed: ${x.error}` : kb(x.min), kb(x.gzip), kb(x.brotli), x.name.includes('(full') ? ratio(x.gzip, 6144) : '']),
      ),
    );
    out.push('');
  }

  if (r.cost) {
    const ws = r.cost.libs.ws;
    out.push(`## 2. Cost per message over loopback (${num(r.cost.plan.count)} messages of ~100 B, window ${r.cost.plan.window}, ${r.cost.runs} run(s))`);
    out.push('');
    if (r.cost.measuredAt) out.push(`_Measured ${r.cost.measuredAt}._`, '');
    out.push(
      table(
        ['client', 'msgs/s', 'client CPU ms / 1,000 msgs', 'client CPU vs raw ws', 'server CPU ms / 1,000 msgs', 'bad echoes / missing'],
        Object.entries(r.cost.libs).map(([k, v]) => [k === 'ours' ? '**ours** (protocol: room send, ids + acks)' : k, fig(v.msgsPerSec), fig(v.cpuMsPer1k, 1), ratio(med(v.cpuMsPer1k), med(ws?.cpuMsPer1k)), fig(v.serverCpuMsPer1k, 1), `${med(v.bad) ?? '–'} / ${med(v.missing) ?? '–'}${errs(v)}`]),
      ),
    );
    out.push('');
  }
  if (r.fake) {
    const FAKE_NAMES = {
      raw: 'raw (JSON encode/decode, like an app on ws)',
      wire: "ours' frames without the SDK (JSON of MESSAGE and NEW_MESSAGE: the format's floor)",
      acked: 'the same, plus a promise per message settled by its ack (the floor of a send() that resolves on the ack)',
      ours: '**ours**',
    };
    const raw = r.fake.libs.raw;
    out.push(`### CPU per message against an in-memory socket (${num(r.fake.plan.count)} messages, ${r.fake.runs} runs)`);
    out.push('');
    if (r.fake.measuredAt) out.push(`_Measured ${r.fake.measuredAt}._`, '');
    out.push(
      table(
        ['client', 'client CPU ms / 1,000 msgs', 'vs raw (target ≤ 1.2×)', 'fake server time subtracted (ms / 1,000)', 'bad / missing'],
        Object.entries(r.fake.libs).map(([k, v]) => [FAKE_NAMES[k] ?? k, fig(v.cpuMsPer1k, 2), ratio(med(v.cpuMsPer1k), med(raw?.cpuMsPer1k)), fig(v.fakeServerMsPer1k, 2), `${med(v.bad) ?? '–'} / ${med(v.missing) ?? '–'}${errs(v)}`]),
      ),
    );
    out.push('');
  }

  if (r.outage) {
    const p = r.outage.plan;
    out.push(`## 3. Outage (${p.clients} clients, server SIGKILLed, down ${p.downMs / 1000} s, restarted on the same port; ${r.outage.runs} run(s))`);
    out.push('');
    if (r.outage.measuredAt) out.push(`_Measured ${r.outage.measuredAt}._`, '');
    out.push('![outage timeline](outage.svg)');
    out.push('');
    out.push(
      table(
        ['client', '50 % back', '99 % back (target ≤ 1,500 ms)', '100 % back', 'peak handshakes / 100 ms (target ≤ 50)', 'in flight at kill: sent / lost / dup / pending', 'sent during outage: sent / lost / dup / pending'],
        Object.entries(r.outage.libs).map(([k, v]) => [
          k === 'ours' ? '**ours** (Redis mode)' : k,
          fig(v.back50Ms, 0, ' ms'),
          `${fig(v.back99Ms, 0, ' ms')} · ${ratio(med(v.back99Ms), 1500)}`,
          fig(v.back100Ms, 0, ' ms'),
          `${fig(v.peakHandshakesPer100ms)} · ${ratio(med(v.peakHandshakesPer100ms), 50)}`,
          `${fig(v.inflightSent)} / ${fig(v.inflightLost)} / ${fig(v.inflightDuplicated)} / ${fig(v.inflightPending)}`,
          `${fig(v.outageSent)} / ${fig(v.outageLost)} / ${fig(v.outageDuplicated)} / ${fig(v.outagePending)}${errs(v)}`,
        ]),
      ),
    );
    out.push('');
  }

  if (r.storm) {
    const p = r.storm.plan;
    const v = r.storm.variants;
    const sioMem = med(v['Socket.IO 4.8 recovery (in-memory)']?.allMs);
    const sioRedis = med(v['Socket.IO 4.8 recovery (Redis Streams adapter)']?.allMs);
    out.push(`## 4. Recovery storm (${p.clients} clients in ${p.rooms} rooms cut at once, ${p.perRoom} messages per room published while away; ${r.storm.runs} run(s))`);
    out.push('');
    if (r.storm.measuredAt) out.push(`_Measured ${r.storm.measuredAt}._`, '');
    out.push(
      table(
        ['server', 'time until every client has every missed message', 'vs Socket.IO same mode (target ≤ 0.5× in-memory, ≤ 0.25× Redis)', 'reconnected after the restore: p50 / p99', 'connection attempt to open: p50 / p99', 'catch-up after reconnecting: p50 / max', 'clients complete', 'sessions recovered', 'lost / pending', 'duplicated', 'CPU ms: server / clients / proxy'],
        Object.entries(v).map(([k, x]) => [
          x && k.startsWith('ours') ? `**${k}**` : k,
          fig(x.allMs, 0, ' ms'),
          k.startsWith('ours') ? ratio(med(x.allMs), k.includes('Redis') ? sioRedis : sioMem) : '',
          `${fig(x.backP50Ms, 0, ' ms')} / ${fig(x.backP99Ms, 0, ' ms')}`,
          `${fig(x.handshakeP50Ms, 0, ' ms')} / ${fig(x.handshakeP99Ms, 0, ' ms')}`,
          `${fig(x.catchUpP50Ms, 0, ' ms')} / ${fig(x.catchUpMaxMs, 0, ' ms')}`,
          fig(x.complete),
          fig(x.recoveredSessions),
          `${fig(x.lost)} / ${fig(x.pending)}`,
          fig(x.duplicated),
          `${fig(x.serverCpuMs)} / ${fig(x.clientCpuMs)} / ${fig(x.proxyCpuMs)}${errs(x)}`,
        ]),
      ),
    );
    out.push('');
  }

  if (r.memory) {
    const p = r.memory.plan;
    const v = r.memory.variants;
    const sio = med(v['Socket.IO 4.8 recovery (in-memory)']?.bytesPerSession);
    out.push(`## 5a. Memory per disconnected session (${num(p.sessions)} sessions × ${p.missed} missed messages, server heap after GC; ${r.memory.runs} run(s))`);
    out.push('');
    if (r.memory.measuredAt) out.push(`_Measured ${r.memory.measuredAt}._`, '');
    out.push(
      table(
        ['server', 'bytes per disconnected session', 'vs Socket.IO (target ≤ 0.5×)', 'bytes per connected session', 'heap baseline → after (MB)'],
        Object.entries(v).map(([k, x]) => [k.startsWith('ours') ? `**${k}**` : k, fig(x.bytesPerSession), k.startsWith('ours') ? ratio(med(x.bytesPerSession), sio) : '', fig(x.bytesPerConnected), `${fig(x.heapBaselineMB, 1)} → ${fig(x.heapAfterMB, 1)}${errs(x)}`]),
      ),
    );
    out.push('');
  }

  if (r.fanout) {
    const p = r.fanout.plan;
    const v = r.fanout.variants;
    const sio = med(v['Socket.IO 4.8']?.deliveriesPerSec);
    out.push(`## 5b. Fan-out and latency (1 publisher, ${p.subscribers} subscribers, 100-byte messages: ${num(p.count)} as fast as possible; latency at ${p.rateHz} msg/s; ${r.fanout.runs} run(s))`);
    out.push('');
    if (r.fanout.measuredAt) out.push(`_Measured ${r.fanout.measuredAt}._`, '');
    out.push(
      table(
        ['server', 'deliveries/s', 'vs Socket.IO (target ≥ 1×)', 'CPU ms / 1,000 deliveries: subscribers / server', 'latency p50', 'latency p99', 'subscriber process CPU at that rate (cores)', 'lost / dup'],
        Object.entries(v).map(([k, x]) => [k.startsWith('ours') ? `**${k}**` : k, fig(x.deliveriesPerSec), k.startsWith('ours') ? ratio(med(x.deliveriesPerSec), sio) : '', `${fig(x.subscriberCpuMsPer1k, 1)} / ${fig(x.serverCpuMsPer1k, 1)}`, fig(x.latencyP50Ms, 2, ' ms'), fig(x.latencyP99Ms, 2, ' ms'), fig(x.subscriberCpuShareAtRate, 2), `${fig(x.lost)} / ${fig(x.duplicated)}${errs(x)}`]),
      ),
    );
    out.push('');
  }

  if (r.state) {
    const p = r.state.plan;
    const v = r.state.variants;
    out.push(`## 6. Shared state through a server kill (${p.clients} clients in one room, ${p.K} events each, one per ${p.intervalMs} ms; server SIGKILLed after ${p.steadyMs / 1000} s, down ${p.downMs / 1000} s, restarted on the same port; ${r.state.runs} run(s))`);
    out.push('');
    if (r.state.measuredAt) out.push(`_Measured ${r.state.measuredAt}._`, '');
    out.push(
      table(
        ['server', 'converged after restart', 'after the last dispatch', 'events sent / lost / duplicated / reordered', 'of which in flight at the kill / sent while disconnected', 'dispatch: resolved / of them without version / rejected / pending', 'defects: rejected but applied / resolved but missing / version', 'replicas diverged at the end', 'final version (expected)', 'bytes received per version per client', 'frames per version', 'full value at the end', 'CPU ms: server / clients'],
        Object.entries(v).map(([k, x]) => [
          x && k.startsWith('ours') ? `**${k}**` : k,
          fig(x.convergedAfterRestartMs, 0, ' ms'),
          fig(x.convergedAfterLastDispatchMs, 0, ' ms'),
          `${fig(x.sent)} / ${fig(x.lost)} / ${fig(x.duplicated)} / ${fig(x.reordered)}`,
          `${fig(x.inflightAtKill)} / ${fig(x.dispatchedDuringOutage)}`,
          `${fig(x.resolved)} / ${fig(x.resolvedNoVersion)} / ${fig(x.rejected)}${med(x.rejected) ? ` (${x.rejectedCodes})` : ''} / ${fig(x.pending)}`,
          `${fig(x.rejectedButApplied)} / ${fig(x.resolvedButMissing)} / ${fig(x.versionDefects)}${x.findings?.length ? ` (listed in latest.json, ${x.findings.length} run(s))` : ''}`,
          fig(x.diverged),
          `${fig(x.finalVersion)} (${fig(x.expectedVersion)})`,
          fig(x.bytesPerUpdate, 0, ' B'),
          fig(x.framesPerUpdate, 2),
          fig(x.fullValueBytes, 0, ' B'),
          `${fig(x.serverCpuMs)} / ${fig(x.clientCpuMs)}${errs(x)}`,
        ]),
      ),
    );
    out.push('');
  }

  out.push('## Versions');
  out.push('');
  out.push(table(['package', 'version'], Object.entries(m.versions).map(([k, x]) => [k, x ?? '–'])));
  out.push('');
  return `${out.join('\n')}\n`;
}
