/**
 * The rebuild worker's code, as a self-contained CommonJS script run with `new Worker(source,
 * { eval: true })`. A string and not a separate file so that it loads the same way from the
 * TypeScript sources (vitest), the ESM build and the CJS build, without a path to resolve. It
 * imports the application's reducer with a dynamic `import()` of an absolute file URL.
 *
 * Messages in (one task at a time, in order): `begin {id, scope, base, baseVersion}`,
 * `events {id, events}` (any number), `end {id}`. Out: `done {id, value, version, threadId}` or
 * `failed {id, message, reason}`.
 * @internal
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData, threadId } = require('node:worker_threads');
const { inflateSync } = require('node:zlib');

let reducer = null;
let loadError = null;
const ready = import(workerData.reducerModule).then(
  (m) => {
    if (typeof m.applyEvent !== 'function') throw new Error('the reducer module exports no applyEvent function');
    reducer = m;
  },
).catch((err) => { loadError = err; });

let task = null;

function decode(blob) {
  if (blob.encoding === 'json') return JSON.parse(blob.data);
  if (blob.encoding === 'deflate') return JSON.parse(inflateSync(Buffer.from(blob.data, 'base64')).toString('utf8'));
  throw new Error('unknown blob encoding ' + String(blob.encoding));
}

function fail(reason, err) {
  task.failed = { reason, message: err instanceof Error ? err.message : String(err) };
}

function handle(msg) {
  if (msg.type === 'begin') {
    task = { id: msg.id, scope: msg.scope, state: msg.base, version: msg.baseVersion, failed: null };
    if (loadError !== null) fail('load_failed', loadError);
    return;
  }
  if (task === null || task.id !== msg.id) return;
  if (msg.type === 'events') {
    if (task.failed !== null) return;
    for (const stored of msg.events) {
      if (stored.version !== task.version + 1) {
        fail('gap', new Error('event ' + stored.version + ' does not follow version ' + task.version));
        return;
      }
      let next;
      try {
        next = reducer.applyEvent(task.state, decode(stored.event), { scope: task.scope, version: stored.version, replay: true });
      } catch (err) {
        fail('reducer_failed', err);
        return;
      }
      if (next === undefined) {
        fail('reducer_failed', new Error('the reducer refused stored event ' + stored.version));
        return;
      }
      task.state = next;
      task.version = stored.version;
    }
    return;
  }
  if (msg.type === 'end') {
    const t = task;
    task = null;
    if (t.failed !== null) parentPort.postMessage({ type: 'failed', id: t.id, reason: t.failed.reason, message: t.failed.message });
    else parentPort.postMessage({ type: 'done', id: t.id, value: t.state, version: t.version, threadId });
  }
}

parentPort.on('message', (msg) => {
  ready.then(() => handle(msg));
});
`;
