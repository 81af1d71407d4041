/** Shared plumbing of the store conformance suite: the world each test runs in. */
import { afterEach, beforeEach } from 'vitest';
import type { EntryInput, Retention, SessionRecord, Store } from '../../src/server/stores/store.js';

/** What a store factory receives: a namespace shared by the instances of one test, and a clock. */
export interface StoreMakerContext {
  /** Unique per test; instances made with the same namespace must share data (when they can). */
  namespace: string;
  /** The test's clock (ms since epoch); pass it to the store as its `now` option. */
  now: () => number;
}

/** Makes one store instance. */
export type StoreMaker = (context: StoreMakerContext) => Store | Promise<Store>;

/** What the adapter under test can do. */
export interface ConformanceOptions {
  /**
   * Whether two instances made with the same namespace share data and notifications (Redis:
   * yes; memory: no). When false, the "second instance" of every test is the first one, so the
   * concurrency tests still race two callers on one store.
   */
  sharedAcrossInstances: boolean;
  /** Runs of each property test (default 25). */
  propertyRuns?: number;
}

/** A test's clock, moved by hand. */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

/** A test's stores: `a` and `b` are two instances on one namespace (the same object when not shared). */
export interface World {
  a: Store;
  b: Store;
  clock: TestClock;
  namespace: string;
}

let worldCounter = 0;

/** Registers beforeEach/afterEach hooks that build and tear down a fresh world per test. */
export function useWorld(makeStore: StoreMaker, options: ConformanceOptions): () => World {
  let current: World | undefined;
  beforeEach(async () => {
    let time = Date.UTC(2026, 0, 1);
    const clock: TestClock = { now: () => time, advance: (ms) => { time += ms; } };
    const namespace = `w${process.pid}-${++worldCounter}-${Math.random().toString(36).slice(2, 8)}`;
    const a = await makeStore({ namespace, now: clock.now });
    const b = options.sharedAcrossInstances ? await makeStore({ namespace, now: clock.now }) : a;
    current = { a, b, clock, namespace };
  });
  afterEach(async () => {
    const world = current;
    current = undefined;
    if (world === undefined) return;
    await world.a.close();
    if (world.b !== world.a) await world.b.close();
  });
  return () => {
    if (current === undefined) throw new Error('no world: called outside a test');
    return current;
  };
}

/** A session record with defaults. */
export function session(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    tokenHash: 'a'.repeat(64),
    user: null,
    rooms: {},
    positions: {},
    lastSeq: 0,
    createdAt: 1_700_000_000_000,
    owner: 'inst-1/conn-1',
    expiresAt: null,
    ...overrides,
  };
}

/** An entry input with defaults. */
export function entry(id: string, data: EntryInput['data'] = { n: id }, from: string | null = null): EntryInput {
  return { id, from, user: from === null ? null : `user-of-${from}`, data };
}

/** Generous retention for tests that are not about retention. */
export const KEEP_ALL: Retention = { maxCount: 10_000, maxAgeMs: 86_400_000 };

/**
 * Waits until `check` returns true, polling; fails after `timeoutMs`. Used for notifications,
 * which a network store delivers asynchronously. Bounded, never a timing assertion.
 */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets pending notifications arrive (a round trip through the store), then returns. */
export async function settle(store: Store): Promise<void> {
  await store.ping();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
