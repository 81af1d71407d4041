// Smoke test of the BUILT package, as a user gets it: the CLI from bin/, the client imported by
// its package name ('resilient-socket', resolved through the exports map by self-reference).
// The server cuts the client through the fault endpoint three times; the client must come back by
// itself each time, after a delay the backoff options allow, and every message must arrive once,
// in order. Run by .ci/run after `npm run build`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { ReconnectingWebSocket } from 'resilient-socket';
import { ReconnectingWebSocket as StateReconnectingWebSocket, ResilientSocketError } from 'resilient-socket/state';

const fail = (msg) => {
  console.error(`smoke: FAIL: ${msg}`);
  process.exitCode = 1;
};
// resilient-socket/state through the exports map (ESM and CJS): the same client plus synced state,
// sharing the main entry's classes.
const cjs = createRequire(import.meta.url);
if (!(StateReconnectingWebSocket.prototype instanceof ReconnectingWebSocket)) fail('resilient-socket/state: ReconnectingWebSocket is not a subclass of the main one');
if (cjs('resilient-socket/state').ResilientSocketError !== cjs('resilient-socket').ResilientSocketError) fail('resilient-socket/state (CJS) does not share the main entry');
if (typeof ResilientSocketError !== 'function') fail('resilient-socket/state does not re-export ResilientSocketError');

const server = spawn(process.execPath, ['bin/resilient-socket-server.mjs', '--port', '0', '--faults'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const deadline = setTimeout(() => {
  fail('timed out after 30 s');
  server.kill('SIGKILL');
  process.exit(1);
}, 30_000);

try {
  const lines = createInterface({ input: server.stdout });
  let url;
  for await (const line of lines) {
    const log = JSON.parse(line);
    if (log.msg === 'listening') {
      url = log.url;
      break;
    }
  }
  const httpUrl = url.replace(/^ws/, 'http');
  // No jitter, so each reconnect delay is exactly known: 150 ms for the first retry.
  const ws = new ReconnectingWebSocket(url, { initialReconnectDelay: 150, reconnectFactor: 2, jitter: 'none' });
  const received = [];
  const retries = [];
  ws.on('message', (m) => received.push(m.id));
  ws.on('retry', (r) => retries.push(r.delay));
  await once(ws, 'open');
  await ws.join('smoke');
  const sent = [];
  for (let cut = 0; cut < 3; cut++) {
    const downAt = Date.now();
    const res = await fetch(`${httpUrl}/_faults/disconnect?session=${ws.sessionId}`, { method: 'POST' });
    if (res.status !== 204) fail(`fault endpoint answered ${res.status}`);
    // Sent while cut: queued, then delivered after the automatic reconnect.
    const pending = [1, 2, 3].map((i) => {
      const id = `c${cut}-m${i}`;
      sent.push(id);
      return ws.send({ i }, { room: 'smoke', id });
    });
    await once(ws, 'recovered');
    const tookMs = Date.now() - downAt;
    await Promise.all(pending);
    console.log(`smoke: cut ${cut + 1}: back after ${tookMs} ms (backoff said ${retries.at(-1)} ms), recovered=${ws.recovered}`);
    if (retries.at(-1) !== 150) fail(`expected a 150 ms first retry without jitter, got ${retries.at(-1)}`);
    if (tookMs < 150) fail(`reconnected after ${tookMs} ms, before the backoff delay`);
  }
  const deadlineMs = Date.now() + 5000;
  while (received.length < sent.length && Date.now() < deadlineMs) await new Promise((r) => setTimeout(r, 20));
  if (JSON.stringify(received) !== JSON.stringify(sent)) fail(`received ${JSON.stringify(received)}, sent ${JSON.stringify(sent)}`);
  ws.close();
  console.log(`smoke: ${received.length} messages sent through 3 server-side cuts, each received once and in order`);
} catch (err) {
  fail(err?.stack ?? String(err));
} finally {
  clearTimeout(deadline);
  server.kill('SIGTERM');
}
