#!/usr/bin/env node
// `npm run bench` (full) and `npm run bench -- --quick` (scaled down, said so in the output).
// Options: --only=size,cost,fake,outage,storm,memory,fanout,state   --runs=N (override)
//          --out=DIR (write the results there instead of bench/results: for trial runs)
//          --ours-only (skip the peers' rows: for trial runs; never for the published table)
// Writes bench/results/latest.json, latest.md and outage.svg (a --only run merges into the
// existing latest.json, so one figure can be re-measured without the others).
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureDist, oursAvailable, staleDistNote, ROOT } from './lib/ours.mjs';
import { machine } from './lib/machine.mjs';
import { killAll } from './lib/proc.mjs';
import { redisAvailable, deletePrefix } from './lib/redis.mjs';
import { runSize } from './suites/size.mjs';
import { runCost, COST_LIBS } from './suites/cost.mjs';
import { runFake } from './suites/fake.mjs';
import { runOutage, OUTAGE_LIBS } from './suites/outage.mjs';
import { runStorm, STORM_VARIANTS } from './suites/storm.mjs';
import { runMemory, MEMORY_VARIANTS } from './suites/memory.mjs';
import { runFanout, FANOUT_VARIANTS } from './suites/fanout.mjs';
import { runState, STATE_VARIANTS } from './suites/state.mjs';
import { renderMarkdown } from './lib/report-md.mjs';
import { renderOutageSvg } from './lib/outage-svg.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const runsArg = Number(argv.find((a) => a.startsWith('--runs='))?.slice(7)) || null;
const want = (name) => !only || only.includes(name);
const outArg = argv.find((a) => a.startsWith('--out='))?.slice(6);
const oursOnly = argv.includes('--ours-only');

/** Workload sizes: the figures, and the --quick pass scaled down. */
const PLAN = quick
  ? {
      mode: 'quick',
      runs: 1,
      fakeRuns: 3,
      cost: { count: 10_000, window: 100 },
      fake: { count: 20_000, window: 100 },
      outage: { clients: 100, downMs: 3000, maxBackMs: 12_000, settleMs: 1500 },
      storm: { clients: 200, rooms: 10, perRoom: 50, processes: 1, maxMs: 30_000 },
      memory: { sessions: 500, missed: 10, processes: 1 },
      fanout: { subscribers: 100, count: 1000, rateHz: 50, latencyMs: 2000 },
      state: { clients: 50, K: 40, intervalMs: 200, steadyMs: 2000, downMs: 3000, convergeMs: 30_000, processes: 1 },
    }
  : {
      mode: 'full',
      runs: 3,
      fakeRuns: 5,
      cost: { count: 100_000, window: 100 },
      fake: { count: 100_000, window: 100 },
      outage: { clients: 300, downMs: 3000, maxBackMs: 30_000, settleMs: 3000 },
      storm: { clients: 1000, rooms: 10, perRoom: 50, processes: 2, maxMs: 60_000 },
      memory: { sessions: 5000, missed: 10, processes: 2 },
      fanout: { subscribers: 100, count: 10_000, rateHz: 50, latencyMs: 10_000 },
      state: { clients: 100, K: 40, intervalMs: 200, steadyMs: 2000, downMs: 3000, convergeMs: 60_000, processes: 1 },
    };
if (runsArg) PLAN.runs = PLAN.fakeRuns = runsArg;

const log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const notes = [];
if (quick) notes.push('QUICK pass: workloads scaled down and one run per figure (three for the fake-socket figure); not the published numbers.');

const buildNote = ensureDist({ log });
if (buildNote) notes.push(buildNote);
const staleNote = staleDistNote();
if (staleNote) notes.push(staleNote);
const have = oursAvailable();
const withOurs = (all) => {
  const list = oursOnly ? all.filter((x) => x.ours || x === 'ours' || x.lib === 'ours') : all;
  if (have.client && have.server) return list;
  notes.push('our client or server build is missing: "ours" rows skipped');
  return list.filter((x) => !x.ours);
};
const redisOk = await redisAvailable();
if (!redisOk) notes.push('Redis not reachable at REDIS_URL: Redis variants skipped');
const noRedis = (list) => (redisOk ? list : list.filter((v) => !v.config?.redis && !v.redis));
const runId = `rsbench:${Date.now().toString(36)}${process.pid}`;
const redisPrefix = (s) => `${runId}:${s}`;

const resultsDir = outArg ? resolve(outArg) : join(ROOT, 'bench', 'results');
if (oursOnly) notes.push('--ours-only: the peers were not run (a trial run, not a comparison)');
mkdirSync(resultsDir, { recursive: true });
const jsonPath = join(resultsDir, 'latest.json');
let previous = only && existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : null;
if (previous && previous.mode !== PLAN.mode) {
  // never mix quick and full figures in one report
  notes.push(`the previous latest.json was a ${previous.mode} run: not merged`);
  previous = null;
}

const results = { ...(previous?.results ?? {}) };
const started = Date.now();
try {
  if (want('size')) results.size = await runSize({ log });
  if (want('cost')) results.cost = { plan: PLAN.cost, runs: PLAN.runs, libs: await runCost({ runs: PLAN.runs, ...PLAN.cost, libs: withOurs(COST_LIBS), log }) };
  if (want('fake')) results.fake = { plan: PLAN.fake, runs: PLAN.fakeRuns, libs: await runFake({ runs: PLAN.fakeRuns, ...PLAN.fake, libs: have.client ? ['raw', 'wire', 'acked', 'ours'] : ['raw'], log }) };
  if (want('outage')) {
    const oursServerConfig = (s) => (redisOk ? { redis: true, redisPrefix: redisPrefix(s), sessionTtl: 600_000 } : { sessionTtl: 600_000 });
    if (!redisOk) notes.push('outage: ours ran without Redis (in-memory sessions do not survive a kill)');
    results.outage = { plan: PLAN.outage, runs: PLAN.runs, libs: await runOutage({ runs: PLAN.runs, ...PLAN.outage, libs: withOurs(OUTAGE_LIBS), log, oursServerConfig }) };
  }
  if (want('storm')) results.storm = { plan: PLAN.storm, runs: PLAN.runs, variants: await runStorm({ runs: PLAN.runs, ...PLAN.storm, variants: noRedis(withOurs(STORM_VARIANTS)), log, redisPrefix }) };
  if (want('memory')) results.memory = { plan: PLAN.memory, runs: PLAN.runs, variants: await runMemory({ runs: PLAN.runs, ...PLAN.memory, variants: withOurs(MEMORY_VARIANTS), log }) };
  if (want('fanout')) results.fanout = { plan: PLAN.fanout, runs: PLAN.runs, variants: await runFanout({ runs: PLAN.runs, ...PLAN.fanout, variants: withOurs(FANOUT_VARIANTS), log }) };
  if (want('state')) {
    if (!redisOk) notes.push('state: ours needs Redis for this figure (its state must survive the kill): skipped');
    results.state = { plan: PLAN.state, runs: PLAN.runs, variants: await runState({ runs: PLAN.runs, ...PLAN.state, variants: noRedis(withOurs(STATE_VARIANTS)), log, redisPrefix }) };
  }
  const at = new Date().toISOString();
  for (const k of ['cost', 'fake', 'outage', 'storm', 'memory', 'fanout', 'state']) if (want(k) && results[k]) results[k].measuredAt = at;
} finally {
  killAll();
  if (redisOk) {
    try {
      const n = await deletePrefix(`${runId}:`);
      log(`deleted ${n} Redis keys under ${runId}:`);
    } catch (err) {
      log(`could not delete Redis keys under ${runId}: ${err.message}`);
    }
  }
}

const report = {
  mode: PLAN.mode,
  plan: PLAN,
  machine: machine(),
  durationS: Math.round((Date.now() - started) / 1000),
  notes: [...new Set([...(only ? [`figures re-measured in this run: ${only.join(', ')}`] : []), ...notes])],
  results,
};
writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(resultsDir, 'latest.md'), renderMarkdown(report));
if (results.outage) writeFileSync(join(resultsDir, 'outage.svg'), renderOutageSvg(results.outage));
log(`wrote ${resultsDir}/latest.json, latest.md${results.outage ? ', outage.svg' : ''} in ${report.durationS} s`);
process.exit(0);
