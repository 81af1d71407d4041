import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, ERRORS, ERROR_DESCRIPTIONS, STOP_CLOSE_CODES, isErrorCode, ResilientSocketError } from '../../src/protocol/index.js';

const root = new URL('../../', import.meta.url).pathname;

/** Rows of the table in docs/errors.md: code -> { closeCode, action, description }. */
function documentedErrors(): Map<string, { closeCode: number | undefined; action: string; description: string }> {
  const rows = new Map<string, { closeCode: number | undefined; action: string; description: string }>();
  for (const line of readFileSync(join(root, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\| `(ERR_[A-Z_]+)` \| ([^|]+) \| ([a-z]+) \| (.*) \|$/.exec(line);
    if (m) rows.set(m[1]!, { closeCode: m[2]!.trim() === '—' ? undefined : Number(m[2]), action: m[3]!, description: m[4]!.trim() });
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') || path.endsWith('.mjs') ? [path] : [];
  });
}

describe('error registry', () => {
  it('agrees with docs/errors.md, code by code, close code and action included', () => {
    const documented = documentedErrors();
    const registered = new Map(Object.entries(ERRORS).map(([code, info]) => [code, { closeCode: (info as { closeCode?: number }).closeCode, action: info.action }]));
    expect([...documented.keys()].sort()).toEqual([...registered.keys()].sort());
    for (const [code, info] of registered) {
      const { closeCode, action } = documented.get(code)!;
      expect({ closeCode, action }, code).toEqual(info);
    }
  });

  it('has one description per code, the same text as docs/errors.md', () => {
    const documented = documentedErrors();
    expect(Object.keys(ERROR_DESCRIPTIONS).sort()).toEqual(Object.keys(ERRORS).sort());
    for (const [code, description] of Object.entries(ERROR_DESCRIPTIONS)) {
      expect(description.length, code).toBeGreaterThan(0);
      expect(documented.get(code)?.description, code).toBe(description);
    }
  });

  it('registers every ERR_ code the source code mentions', () => {
    const unknown = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
        if (!isErrorCode(m[1])) unknown.add(`${m[1]} (${file.slice(root.length)})`);
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it('uses only close codes the protocol defines, and the stop codes end in "stop"', () => {
    const known = new Set<number>(Object.values(CLOSE_CODES));
    for (const [code, info] of Object.entries(ERRORS)) {
      const close = (info as { closeCode?: number }).closeCode;
      if (close !== undefined) expect(known.has(close), code).toBe(true);
      if (close !== undefined && STOP_CLOSE_CODES.has(close)) expect(info.action, code).toBe('stop');
    }
    const protocolDoc = readFileSync(join(root, 'docs/protocol.md'), 'utf8');
    for (const close of known) expect(protocolDoc, `close code ${close} in docs/protocol.md`).toContain(`| ${close} |`);
  });

  it('builds errors with the code, the close code and the cause', () => {
    const cause = new Error('disk full');
    const err = new ResilientSocketError('ERR_SLOW_CONSUMER', undefined, { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_SLOW_CONSUMER');
    expect(err.closeCode).toBe(4004);
    expect(err.cause).toBe(cause);
    // the default message is the code: the descriptions stay out of the browser bundle
    expect(err.message).toBe('ERR_SLOW_CONSUMER');
    expect(new ResilientSocketError('ERR_SLOW_CONSUMER', 'cut').message).toBe('cut');
  });

  it('has exactly the codes of the ErrorCode type, and entries of the documented shape', () => {
    const source = readFileSync(join(root, 'src/protocol/errors.ts'), 'utf8');
    const union = /export type ErrorCode =([^;]*);/.exec(source)![1]!;
    const typed = [...union.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]);
    expect(Object.keys(ERRORS)).toEqual(typed);
    for (const [code, info] of Object.entries(ERRORS)) {
      expect(['reconnect', 'stop', 'none'], code).toContain(info.action);
      expect(Object.keys(info).sort(), code).toEqual(info.closeCode === undefined ? ['action'] : ['action', 'closeCode']);
      if (info.closeCode !== undefined) expect(Number.isInteger(info.closeCode), code).toBe(true);
    }
    expect(isErrorCode('toString')).toBe(false);
  });
});

