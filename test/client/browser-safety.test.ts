/**
 * The browser bundle must never pull in a Node built-in or server code: everything reachable from
 * src/index.ts is checked here (rollup's browser build enforces the same at build time).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../src');

/** Every module `entry` imports, transitively; `runtime`: skip `import type` / `export type`. */
function reachable(entry: string, { runtime = false } = {}): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/(?:import|export)([^'"]*?)from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
      .filter((m) => !(runtime && m[1] !== undefined && /^\s*type\s/.test(m[1])))
      .map((m) => (m[2] ?? m[3])!);
    seen.set(file, specifiers);
    for (const s of specifiers) if (s.startsWith('.')) stack.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  }
  return seen;
}

describe('browser safety of the client entry', () => {
  it('reaches no Node built-in, no server code and no src/node module', () => {
    const graph = reachable(resolve(root, 'index.ts'));
    const offenders: string[] = [];
    for (const [file, specifiers] of graph) {
      for (const s of specifiers) {
        const bare = s.replace(/^node:/, '');
        if (s.startsWith('node:') || builtinModules.includes(bare) || s === 'ws') offenders.push(`${file}: ${s}`);
      }
      const rel = file.slice(root.length + 1);
      if (rel.startsWith('server/') || rel.startsWith('node/') || rel.startsWith('testing/')) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
    expect(graph.size).toBeGreaterThan(10);
  });

  it('keeps synced state out of resilient-socket: only resilient-socket/state loads it', () => {
    const stateModules = /^(client\/state-[^/]+|protocol\/patch)\.ts$/;
    const rel = (entry: string) => [...reachable(resolve(root, entry), { runtime: true }).keys()].map((f) => f.slice(root.length + 1));
    expect(rel('index.ts').filter((f) => stateModules.test(f))).toEqual([]);
    expect(rel('state.ts').filter((f) => stateModules.test(f)).sort()).toEqual([
      'client/state-binding.ts',
      'client/state-reconnecting-websocket.ts',
      'client/state-replica.ts',
      'client/state-sync.ts',
      'protocol/patch.ts',
    ]);
  });

  it('reaches no Node built-in from resilient-socket/state either', () => {
    const offenders = [...reachable(resolve(root, 'state.ts')).entries()].flatMap(([file, specifiers]) => [
      ...specifiers.filter((s) => s.startsWith('node:') || builtinModules.includes(s) || s === 'ws').map((s) => `${file}: ${s}`),
      ...(/^(server|node|testing)\//.test(file.slice(root.length + 1)) ? [file] : []),
    ]);
    expect(offenders).toEqual([]);
  });

  it('gives every browser variant (`x.browser.ts`, taken by the browser builds) the exports of its Node module', async () => {
    const dir = resolve(root, 'client');
    const variants = readdirSync(dir).filter((f) => f.endsWith('.browser.ts'));
    expect(variants.sort()).toEqual(['default-websocket.browser.ts', 'write-batch.browser.ts']);
    for (const variant of variants) {
      const browser = (await import(resolve(dir, variant))) as Record<string, unknown>;
      const node = (await import(resolve(dir, variant.replace('.browser.ts', '.ts')))) as Record<string, unknown>;
      expect(Object.keys(browser).sort(), variant).toEqual(Object.keys(node).sort());
    }
  });

  it('takes the global WebSocket in browser builds, read when a client is built', async () => {
    const { defaultWebSocket } = await import('../../src/client/default-websocket.browser.js');
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    class FakeWebSocket {}
    g.WebSocket = FakeWebSocket;
    try {
      expect(defaultWebSocket()).toBe(FakeWebSocket);
    } finally {
      if (saved === undefined) delete g.WebSocket;
      else g.WebSocket = saved;
    }
  });
});
