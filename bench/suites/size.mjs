// Figure 1: bundle size. Each library's entry is what an application imports to get a
// reconnecting socket; all are bundled identically (see lib/bundle-size.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleSize, weigh } from '../lib/bundle-size.mjs';
import { DIST, OURS, ROOT } from '../lib/ours.mjs';

/** `resilient-socket/state` (the client with synced state): built, and its source. */
const STATE = { browserEsm: join(DIST, 'state.browser.js'), browserEsmMin: join(DIST, 'state.browser.min.js'), src: join(ROOT, 'src', 'state.ts') };

/** Peer entries: the import a user writes to get the library's main client. */
export const PEER_ENTRIES = [
  { name: 'reconnecting-websocket', source: "export { default } from 'reconnecting-websocket';" },
  { name: 'partysocket (WebSocket)', source: "export { WebSocket } from 'partysocket';" },
  { name: 'partysocket (PartySocket)', source: "export { PartySocket } from 'partysocket';" },
  { name: 'socket.io-client', source: "export { io } from 'socket.io-client';" },
  { name: '@microsoft/signalr', source: "export { HubConnectionBuilder } from '@microsoft/signalr';" },
  { name: 'phoenix', source: "export { Socket } from 'phoenix';" },
  { name: 'centrifuge', source: "export { Centrifuge } from 'centrifuge';" },
];

const pick = (...paths) => paths.find((p) => existsSync(p)) ?? null;

/**
 * Our entries: the whole public client API of `resilient-socket` (the "full" row the size target
 * is about); its `ReconnectingWebSocket` alone; the same two for `resilient-socket/state` (the
 * client plus synced state); and `resilient-socket/lite` (plain mode only), the smallest import.
 */
export function ourEntries() {
  const from = pick(OURS.browserEsm, OURS.srcIndex);
  if (!from) return [];
  const spec = JSON.stringify(from);
  const entries = [
    { name: 'resilient-socket (full: every export)', ours: true, source: `export * from ${spec};` },
    { name: 'resilient-socket (ReconnectingWebSocket only)', ours: true, source: `export { ReconnectingWebSocket } from ${spec};` },
  ];
  // Built and source entries are not mixed: the state entry is measured from where the main one is.
  const state = from === OURS.browserEsm ? pick(STATE.browserEsm) : pick(STATE.src);
  if (state) {
    const s = JSON.stringify(state);
    entries.push(
      { name: 'resilient-socket/state (every export, with synced state)', ours: true, source: `export * from ${s};` },
      { name: 'resilient-socket/state (ReconnectingWebSocket with synced state)', ours: true, source: `export { ReconnectingWebSocket } from ${s};` },
    );
  }
  const lite = pick(OURS.liteBrowserEsm, OURS.srcLite);
  if (lite) entries.push({ name: 'resilient-socket/lite (plain mode, ReconnectingWebSocket)', ours: true, source: `export { ReconnectingWebSocket } from ${JSON.stringify(lite)};` });
  return entries;
}

/** Our shipped files as they are (already minified by the build), for `npm run size`. */
export function shippedFiles() {
  return [
    { name: 'dist/resilient-socket.umd.min.js (UMD, shipped)', path: OURS.umdMin },
    { name: 'dist/index.browser.min.js (ESM, shipped)', path: OURS.browserEsmMin },
    { name: 'dist/state.browser.min.js (ESM, shipped; loads index.browser.min.js too)', path: STATE.browserEsmMin },
    { name: 'dist/lite.browser.min.js (ESM, shipped)', path: OURS.liteBrowserEsmMin },
  ]
    .filter((f) => existsSync(f.path))
    .map((f) => ({ name: f.name, ours: true, ...weigh(readFileSync(f.path)) }));
}

/** Run the size figure: bundle sizes are deterministic, so one run each. */
export async function runSize({ log = () => {} } = {}) {
  const rows = [];
  for (const e of [...ourEntries(), ...PEER_ENTRIES]) {
    try {
      const s = await bundleSize(e.source);
      rows.push({ name: e.name, ours: Boolean(e.ours), entry: e.source, ...s });
      log(`size ${e.name}: ${s.min} min, ${s.gzip} gzip, ${s.brotli} brotli`);
    } catch (err) {
      rows.push({ name: e.name, ours: Boolean(e.ours), entry: e.source, error: String(err.message ?? err).split('\n')[0] });
      log(`size ${e.name}: failed: ${err.message}`);
    }
  }
  rows.push(...shippedFiles());
  return rows;
}
