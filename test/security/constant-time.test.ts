/**
 * The resume token check compares digests with `crypto.timingSafeEqual`, always both of them
 * (current and previous token), so neither where two tokens differ nor which one matched shows
 * in the time taken. Timing itself is not measured (that would be flaky on a shared machine);
 * the test checks the mechanism, and the source is reviewed in docs/security.md.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return {
    ...original,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.count++;
      return original.timingSafeEqual(a, b);
    },
  };
});

const { hashToken, newResumeToken, resumeTokenMatches, tokenMatches } = await import('../../src/server/sessions.js');

beforeEach(() => {
  calls.count = 0;
});

describe('constant-time token comparison', () => {
  it('tokenMatches compares SHA-256 digests with timingSafeEqual', () => {
    const token = newResumeToken();
    expect(tokenMatches(token, hashToken(token))).toBe(true);
    expect(tokenMatches(`${token}x`, hashToken(token))).toBe(false);
    expect(tokenMatches('', hashToken(token))).toBe(false);
    expect(calls.count).toBe(3);
  });

  it('resumeTokenMatches runs both comparisons whichever matches', () => {
    const current = newResumeToken();
    const previous = newResumeToken();
    const session = { tokenHash: hashToken(current), prevTokenHash: hashToken(previous) };
    for (const [token, expected] of [[current, true], [previous, true], [newResumeToken(), false]] as const) {
      calls.count = 0;
      expect(resumeTokenMatches(token, session)).toBe(expected);
      expect(calls.count).toBe(2);
    }
  });

  it('the handshake checks tokens only through resumeTokenMatches (no string comparison of a presented token)', () => {
    const source = readFileSync(resolve(import.meta.dirname, '../../src/server/handshake.ts'), 'utf8');
    expect(source).toContain('resumeTokenMatches(frame.resumeToken, session)');
    expect(source).not.toMatch(/resumeToken\s*[!=]==/);
    expect(source).not.toMatch(/[!=]==\s*frame\.resumeToken/);
  });
});
