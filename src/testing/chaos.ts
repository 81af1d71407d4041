/**
 * Random faults for soak tests: at random intervals, a random kind of fault hits a random open
 * connection. Everything random comes from one injected source and every delay from the
 * proxy's clock, so a seeded source and a fake clock replay the same run. A run is bounded by a
 * fault count and a duration, and temporary faults are undone when it stops.
 */
import type { LatencyOptions, ThrottleOptions } from './fault-pipe.js';
import type { ProxyConnection } from './proxy-connection.js';
import type { TimerSet } from './timer-set.js';
import {
  checkFunction,
  checkLatencyOptions,
  checkNonNegative,
  checkOneOf,
  checkPositive,
  checkPositiveInt,
  checkThrottleOptions,
  invalid,
} from './validate.js';

/** Fault kinds chaos can inject. `stall`, `latency`, `throttle` and `refuse` last `faultDurationMs`. */
export type ChaosKind = 'rst' | 'fin' | 'stall' | 'latency' | 'throttle' | 'midFrame' | 'refuse';

/** Every chaos kind, the default `kinds`. */
export const CHAOS_KINDS: readonly ChaosKind[] = ['rst', 'fin', 'stall', 'latency', 'throttle', 'midFrame', 'refuse'];

/** Options of `FaultProxy.chaos()`. */
export interface ChaosOptions {
  /** Mean faults per second (> 0); intervals are exponentially distributed. */
  rate: number;
  /** Kinds to draw from (uniformly); default all of `CHAOS_KINDS`. */
  kinds?: readonly ChaosKind[];
  /** Random source in [0, 1); default `Math.random`. Pass a seeded one to replay a run. */
  random?: () => number;
  /** Stop after this many faults; default 100. */
  maxFaults?: number;
  /** Stop after this many ms (proxy clock); default 60000. */
  durationMs?: number;
  /** How long temporary faults (stall, latency, throttle, refuse) last, ms; default 500. */
  faultDurationMs?: number;
  /** Latency injected by `latency` faults; default `{ ms: 50, jitter: 50 }`. */
  latency?: LatencyOptions;
  /** Bandwidth of `throttle` faults; default `{ bytesPerSecond: 32768 }`. */
  throttle?: ThrottleOptions;
}

/** What a chaos run did. */
export interface ChaosReport {
  /** Faults injected. */
  readonly injected: number;
  /** Faults injected per kind. */
  readonly byKind: Readonly<Record<ChaosKind, number>>;
  /** Ticks that found no open connection to hit (not counted as faults). */
  readonly skipped: number;
  /** Why the run ended (`running` while it has not). */
  readonly ended: 'running' | 'maxFaults' | 'duration' | 'stopped';
}

/** A running chaos schedule. */
export interface ChaosRun {
  /** Stop now and undo temporary faults. Idempotent. */
  stop(): void;
  /** Resolves with the final report once the run has ended. */
  readonly done: Promise<ChaosReport>;
  /** The report so far. */
  report(): ChaosReport;
}

/** What chaos needs from the proxy. @internal */
export interface ChaosHost {
  timers: TimerSet;
  connections(): ProxyConnection[];
  refuse(on: boolean): void;
}

/** Start a chaos run against `host`. @internal */
export function runChaos(host: ChaosHost, options: ChaosOptions): ChaosRun {
  if (typeof options !== 'object' || options === null) invalid('chaos(options) takes an object');
  const rate = checkPositive(options.rate, 'chaos options.rate');
  const kinds: readonly ChaosKind[] = options.kinds ?? CHAOS_KINDS;
  if (!Array.isArray(kinds as unknown) || kinds.length === 0) invalid('chaos options.kinds must be a non-empty array');
  for (const k of kinds) checkOneOf(k, CHAOS_KINDS, 'chaos options.kinds[]');
  const random = checkFunction<() => number>(options.random ?? Math.random, 'chaos options.random');
  const maxFaults = checkPositiveInt(options.maxFaults ?? 100, 'chaos options.maxFaults');
  const durationMs = checkNonNegative(options.durationMs ?? 60_000, 'chaos options.durationMs');
  const faultDurationMs = checkNonNegative(options.faultDurationMs ?? 500, 'chaos options.faultDurationMs');
  const latency = options.latency ?? { ms: 50, jitter: 50 };
  checkLatencyOptions(latency, 'chaos options.latency');
  const throttle = options.throttle ?? { bytesPerSecond: 32_768 };
  checkThrottleOptions(throttle, 'chaos options.throttle');

  const { timers } = host;
  const startedAt = timers.clock.now();
  const byKind: Record<ChaosKind, number> = { rst: 0, fin: 0, stall: 0, latency: 0, throttle: 0, midFrame: 0, refuse: 0 };
  let injected = 0;
  let skipped = 0;
  let ended: ChaosReport['ended'] = 'running';
  let tick: number | undefined;
  // Undo actions of temporary faults still in effect, keyed by their timer.
  const undo = new Map<number, () => void>();
  let resolveDone!: (report: ChaosReport) => void;
  const done = new Promise<ChaosReport>((resolve) => (resolveDone = resolve));

  const report = (): ChaosReport => ({ injected, byKind: { ...byKind }, skipped, ended });
  // Clamp: a source returning exactly 1 must not index past the end.
  const draw = (n: number): number => Math.min(n - 1, Math.floor(random() * n));

  const finish = (why: Exclude<ChaosReport['ended'], 'running'>): void => {
    if (ended !== 'running') return;
    ended = why;
    timers.cancel(tick);
    for (const [id, fn] of undo) {
      timers.cancel(id);
      fn();
    }
    undo.clear();
    for (const c of host.connections()) c.disarmMidFrame();
    resolveDone(report());
  };

  const temporary = (fn: () => void): void => {
    const id = timers.schedule(() => {
      undo.delete(id);
      fn();
    }, faultDurationMs);
    undo.set(id, fn);
  };

  const inject = (kind: ChaosKind): boolean => {
    if (kind === 'refuse') {
      host.refuse(true);
      temporary(() => host.refuse(false));
      return true;
    }
    const open = host.connections().filter((c) => c.state === 'open');
    if (open.length === 0) return false;
    const conn = open[draw(open.length)]!;
    switch (kind) {
      case 'rst':
      case 'fin':
        conn.cut({ mode: kind });
        break;
      case 'stall':
        conn.stall();
        temporary(() => conn.resume());
        break;
      case 'latency':
        conn.latency(latency);
        temporary(() => conn.latency(null));
        break;
      case 'throttle':
        conn.throttle(throttle);
        temporary(() => conn.throttle(null));
        break;
      case 'midFrame':
        void conn.cutMidFrame({ direction: draw(2) === 0 ? 'toClient' : 'toServer' });
        break;
    }
    return true;
  };

  const schedule = (): void => {
    // Exponential inter-arrival times: a Poisson process of `rate` faults per second.
    const delay = Math.max(1, (-Math.log(1 - Math.min(random(), 0.999_999)) / rate) * 1000);
    tick = timers.schedule(() => {
      tick = undefined;
      if (timers.clock.now() - startedAt >= durationMs) return finish('duration');
      const kind = kinds[draw(kinds.length)]!;
      if (inject(kind)) {
        injected++;
        byKind[kind]++;
      } else skipped++;
      if (injected >= maxFaults) return finish('maxFaults');
      schedule();
    }, delay);
  };

  schedule();
  return { stop: () => finish('stopped'), done, report };
}
