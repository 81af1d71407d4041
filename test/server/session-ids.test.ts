/**
 * Stream epochs come from `randomId`, which hands out bytes of a CSPRNG block drawn 4 KiB at a
 * time: each byte once, so no two ids share random bits, across block refills too. Session ids
 * and resume tokens (secrets) are drawn on their own, in the same form.
 */
import { describe, expect, it } from 'vitest';
import { newResumeToken, newSessionId, randomId } from '../../src/server/sessions.js';

describe('randomId', () => {
  it('gives base64url ids of the asked size, never the same twice across many blocks', () => {
    const seen = new Set<string>();
    // 20,000 x 32 bytes: ~156 blocks of 4 KiB, with ids straddling no block end.
    for (let i = 0; i < 20_000; i++) {
      const id = randomId(32);
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
  });

  it('session ids are 128 bits and resume tokens 256 bits, base64url, never the same twice', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => newResumeToken()));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSessionId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('hands out no byte twice: consecutive ids of odd sizes share no bits', () => {
    // Sizes that do not divide the block, so refills happen mid-sequence.
    const ids = Array.from({ length: 3000 }, (_, i) => Buffer.from(randomId(7 + (i % 5)), 'base64url'));
    for (const [i, id] of ids.entries()) expect(id.length).toBe(7 + (i % 5));
    // A reused slice would repeat 7+ bytes verbatim: look for any repeated 7-byte window start.
    const windows = new Set(ids.map((id) => id.subarray(0, 7).toString('hex')));
    expect(windows.size).toBe(ids.length);
  });

  it('serves ids larger than a block straight from the CSPRNG', () => {
    const a = Buffer.from(randomId(5000), 'base64url');
    const b = Buffer.from(randomId(5000), 'base64url');
    expect(a.length).toBe(5000);
    expect(a.equals(b)).toBe(false);
  });
});
