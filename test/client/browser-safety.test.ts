/**
 * The browser bundle must never pull in a Node built-in or server code: everything reachable from
 * src/index.ts is checked here (rollup's browser build enforces the same at build time).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../src');

function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
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
});
