/**
 * A fixed-size pool of worker threads that rebuild state by folding long event logs with the
 * application's reducer, so a 100,000-event replay does not hold up the event loop. Tasks queue
 * when every worker is busy; a worker that crashes fails its task and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import type { Json } from '../../protocol/frames.js';
import type { StoredStateEvent } from '../stores/store.js';
import { ResilientSocketError } from '../../protocol/errors.js';
import { WORKER_SOURCE } from './worker-source.js';

/** Options of `StateWorkerPool`. */
export interface StateWorkerPoolOptions {
  /**
   * The ES module exporting `applyEvent` (and optionally `initialState`) that workers load: a
   * `file:` URL, a `URL`, or a file path (relative paths resolve against the working directory).
   * It must be plain JavaScript Node can import (not TypeScript).
   */
  reducerModule: string | URL;
  /** Number of worker threads (default `min(2, availableParallelism())`); started on first use. */
  size?: number;
  /**
   * Events sent to a worker per message (default 2000): the main thread clones and posts one
   * chunk per turn of the event loop, so a long log never blocks it in one piece.
   */
  chunkSize?: number;
}

/** One rebuild: fold `events` (consecutive versions after `baseVersion`) onto `base`. */
export interface RebuildTask {
  scope: string;
  base: Json;
  baseVersion: number;
  events: readonly StoredStateEvent[];
}

/** The result of a rebuild. */
export interface RebuildResult {
  value: Json;
  version: number;
  /** The worker thread that did it (diagnostics). */
  threadId: number;
}

interface Job {
  id: number;
  task: RebuildTask;
  resolve: (r: RebuildResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

type WorkerReply =
  | { type: 'done'; id: number; value: Json; version: number; threadId: number }
  | { type: 'failed'; id: number; reason: string; message: string };

/** Resolve a `reducerModule` option to an absolute URL string; throws `ERR_INVALID_OPTION`. */
export function reducerModuleUrl(ref: string | URL): string {
  if (ref instanceof URL) return ref.href;
  if (typeof ref !== 'string' || ref === '') {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.reducerModule must be a file URL or a path');
  }
  if (/^(file|data):/.test(ref)) return ref;
  return pathToFileURL(isAbsolute(ref) ? ref : resolve(ref)).href;
}

function positiveInt(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be a positive integer`);
  }
}

/** Stop listening to a worker and end its thread (a late 'error' is swallowed, not thrown). */
function discard(worker: Worker): Promise<number> {
  worker.removeAllListeners();
  worker.on('error', () => {});
  return worker.terminate();
}

/** The pool. */
export class StateWorkerPool {
  /** Number of workers the pool runs at most. */
  readonly size: number;
  private readonly moduleUrl: string;
  private readonly chunkSize: number;
  private readonly slots: (Slot | null)[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private crashes = 0;

  constructor(options: StateWorkerPoolOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ResilientSocketError('ERR_INVALID_OPTION', 'StateWorkerPool needs an options object with reducerModule');
    }
    this.moduleUrl = reducerModuleUrl(options.reducerModule);
    const size = options.size ?? Math.min(2, availableParallelism());
    positiveInt(size, 'size');
    const chunkSize = options.chunkSize ?? 2000;
    positiveInt(chunkSize, 'chunkSize');
    this.size = size;
    this.chunkSize = chunkSize;
    this.slots = Array.from({ length: size }, () => null);
  }

  /** Workers that crashed (and were replaced) so far. */
  get crashCount(): number {
    return this.crashes;
  }
  /** Tasks waiting for a free worker. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Run a rebuild on a worker. Rejects with `ERR_INTERNAL` if the worker crashes or the reducer
   * fails on a stored event (`details.reason`: `worker_crashed`, `reducer_failed`, `gap`,
   * `load_failed`), and with `ERR_CLOSED` after `close()`.
   */
  rebuild(task: RebuildTask): Promise<RebuildResult> {
    if (this.closed) return Promise.reject(new ResilientSocketError('ERR_CLOSED', 'the state worker pool is closed'));
    return new Promise<RebuildResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminate every worker; queued and running tasks are rejected with `ERR_CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new ResilientSocketError('ERR_CLOSED', 'the state worker pool is closed');
    for (const job of this.queue.splice(0)) job.reject(err);
    const exits: Promise<number>[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (slot === null || slot === undefined) continue;
      this.slots[i] = null;
      slot.job?.reject(err);
      slot.job = null;
      exits.push(discard(slot.worker));
    }
    await Promise.all(exits);
  }

  private dispatch(): void {
    while (!this.closed && this.queue.length > 0) {
      const index = this.slots.findIndex((s) => s === null || s.job === null);
      if (index === -1) return;
      const slot = this.slots[index] ?? this.spawn(index);
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.worker.ref();
      void this.send(slot, job);
    }
  }

  private spawn(index: number): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { reducerModule: this.moduleUrl } });
    const slot: Slot = { worker, job: null };
    this.slots[index] = slot;
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(slot, reply));
    worker.on('error', (err) => this.crashed(index, slot, err));
    worker.on('exit', (code) => this.crashed(index, slot, new Error(`worker exited with code ${code}`)));
    return slot;
  }

  private async send(slot: Slot, job: Job): Promise<void> {
    const { scope, base, baseVersion, events } = job.task;
    try {
      slot.worker.postMessage({ type: 'begin', id: job.id, scope, base, baseVersion });
      for (let i = 0; i < events.length; i += this.chunkSize) {
        if (slot.job !== job) return;
        if (i > 0) await new Promise<void>((r) => setImmediate(r));
        if (slot.job !== job) return;
        slot.worker.postMessage({ type: 'events', id: job.id, events: events.slice(i, i + this.chunkSize) });
      }
      if (slot.job === job) slot.worker.postMessage({ type: 'end', id: job.id });
    } catch (err) {
      // postMessage throws on values that cannot be cloned: the task fails, the worker is fine.
      if (slot.job === job) {
        slot.job = null;
        job.reject(new ResilientSocketError('ERR_INTERNAL', 'state rebuild could not be sent to a worker', { cause: err, details: { reason: 'send_failed' } }));
        // The worker may hold a half-sent task; replace it rather than reuse it.
        discard(slot.worker);
        this.slots[this.slots.indexOf(slot)] = null;
        this.dispatch();
      }
    }
  }

  private settle(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (job === null || job.id !== reply.id) return;
    slot.job = null;
    slot.worker.unref();
    if (reply.type === 'done') {
      job.resolve({ value: reply.value, version: reply.version, threadId: reply.threadId });
    } else {
      job.reject(new ResilientSocketError('ERR_INTERNAL', `state rebuild failed in a worker: ${reply.message}`, { details: { reason: reply.reason, scope: job.task.scope } }));
    }
    this.dispatch();
  }

  private crashed(index: number, slot: Slot, cause: Error): void {
    if (this.slots[index] !== slot) return;
    this.slots[index] = null;
    this.crashes++;
    discard(slot.worker);
    const job = slot.job;
    slot.job = null;
    job?.reject(new ResilientSocketError('ERR_INTERNAL', 'a state rebuild worker crashed', { cause, details: { reason: 'worker_crashed', scope: job.task.scope } }));
    this.dispatch();
  }
}
