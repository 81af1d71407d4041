// Summaries of repeated runs and of latency samples.

/** Median (mean of the middle two for an even count). */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `{ median, min, max, runs }` of the finite values in `xs` (null fields when there are none). */
export function summary(xs) {
  const s = xs.filter((x) => Number.isFinite(x));
  return {
    median: median(s),
    min: s.length ? Math.min(...s) : null,
    max: s.length ? Math.max(...s) : null,
    runs: xs.length,
    values: xs,
  };
}

/** Nearest-rank percentile of an unsorted numeric array (p in 0..100). */
export function percentile(xs, p) {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[k];
}

/**
 * Summarise every numeric field across runs: [{a:1,b:2},{a:3,b:4}] -> {a: summary, b: summary}.
 * Non-numeric fields are kept from the first run.
 */
export function summariseRuns(runs) {
  const out = {};
  const keys = new Set(runs.flatMap((r) => Object.keys(r)));
  for (const k of keys) {
    const vals = runs.map((r) => r[k]);
    if (vals.every((v) => typeof v === 'number' || v === null || v === undefined)) {
      out[k] = summary(vals.map((v) => (v === null || v === undefined ? NaN : v)));
    } else {
      out[k] = vals[0];
    }
  }
  return out;
}
