// Figure 2b driver: one fresh process per run (see clients/fake-cost.mjs), so JIT state and
// garbage from one library never leak into the other's figure.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summariseRuns } from '../lib/stats.mjs';

const SCRIPT = fileURLToPath(new URL('../clients/fake-cost.mjs', import.meta.url));

function once(cfg) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, JSON.stringify(cfg)], { timeout: 180_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message} ${stderr}`.slice(0, 500)));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
      } catch (e) {
        reject(new Error(`bad output: ${stdout.slice(0, 200)} ${stderr.slice(0, 300)}`));
      }
    });
  });
}

export async function runFake({ runs, count, window = 100, libs = ['raw', 'wire', 'acked', 'ours'], log = () => {} }) {
  const out = {};
  // interleave the libraries run by run, so a load change on the machine hits both alike
  const per = Object.fromEntries(libs.map((l) => [l, []]));
  for (let r = 0; r < runs; r++) {
    for (const lib of libs) {
      try {
        const res = await once({ lib, count, window });
        per[lib].push({
          cpuMsPer1k: (res.clientCpuMs / res.got) * 1000,
          totalCpuMsPer1k: (res.cpuMs / res.got) * 1000,
          fakeServerMsPer1k: (res.serverMs / res.got) * 1000,
          msgsPerSec: (res.got / res.elapsedMs) * 1000,
          bad: res.bad,
          missing: res.missing,
        });
        log(`fake ${lib} run ${r + 1}: ${per[lib].at(-1).cpuMsPer1k.toFixed(2)} ms client CPU/1k (fake server ${per[lib].at(-1).fakeServerMsPer1k.toFixed(2)} subtracted), bad ${res.bad}, missing ${res.missing}`);
      } catch (err) {
        log(`fake ${lib} run ${r + 1} failed: ${err.message}`);
        per[lib].push({ error: String(err.message).slice(0, 300) });
      }
    }
  }
  for (const lib of libs) {
    out[lib] = { ...summariseRuns(per[lib].filter((x) => !x.error)), errors: per[lib].filter((x) => x.error).map((x) => x.error) };
  }
  return out;
}
