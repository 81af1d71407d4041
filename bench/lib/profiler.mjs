// CPU profiles of bench processes (BENCH_CPU_PROF=<dir>, see "Profiling" in bench/README.md).
// The bench SIGKILLs its processes, so `--cpu-prof` (written at exit, and refused in
// NODE_OPTIONS) would lose the profile: this one is taken through the inspector and written on
// request, before the kill.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Start profiling this process when BENCH_CPU_PROF names a directory; null otherwise.
 * `mark()` records a moment (profile clock, µs) in the profile's extra field `marks`, so a
 * summary can keep only the interval a figure measures (storm: between its two `cpu` reads).
 * `stop()` writes `<dir>/<name>-<time>-<pid>.cpuprofile` and returns its path.
 * @param {string} name what the process is (file name prefix)
 */
export async function startProfiler(name) {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return null;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 250 µs (V8's default is 1 ms): a resume storm lasts about a second.
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  const marks = [];
  let written = null;
  return {
    // process.hrtime and the profile's timestamps are both the monotonic clock
    mark: () => marks.push(Number(process.hrtime.bigint() / 1000n)),
    stop: async () => {
      if (written) return written;
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      written = join(dir, `${name}-${Date.now()}-${process.pid}.cpuprofile`);
      writeFileSync(written, JSON.stringify({ ...profile, marks }));
      session.disconnect();
      return written;
    },
  };
}
