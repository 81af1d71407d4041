/** The `streamIdleTtl` server option and its CLI flag: defaults, the floor, precise errors. */
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/server/options.js';
import { parseCli } from '../../src/server/cli.js';
import { createServer } from '../../src/server/index.js';

const WEEK = 7 * 24 * 3_600_000;

describe('streamIdleTtl', () => {
  it('defaults to 7 days, passed to the store with every append (rooms and outboxes)', () => {
    const options = resolveOptions({});
    expect(options.streamIdleTtl).toBe(WEEK);
    expect(options.retention).toEqual({ maxCount: 1000, maxAgeMs: 3_600_000, idleTtlMs: WEEK });
    expect(options.outboxRetention.idleTtlMs).toBe(WEEK);
  });

  it('defaults to the session TTL or the age limit when one is longer', () => {
    expect(resolveOptions({ sessionTtl: 2 * WEEK }).streamIdleTtl).toBe(2 * WEEK);
    expect(resolveOptions({ retention: { maxAgeMs: 3 * WEEK } }).streamIdleTtl).toBe(3 * WEEK);
  });

  it('takes 0 (never forget) or any value at least the session TTL and the age limit', () => {
    expect(resolveOptions({ streamIdleTtl: 0 }).retention.idleTtlMs).toBe(0);
    expect(resolveOptions({ sessionTtl: 100, retention: { maxAgeMs: 200 }, streamIdleTtl: 200 }).streamIdleTtl).toBe(200);
  });

  it('refuses a value below the session TTL or the age limit, negative or not an integer, with ERR_INVALID_OPTION', async () => {
    expect(() => resolveOptions({ streamIdleTtl: 60_000 })).toThrow(expect.objectContaining({
      code: 'ERR_INVALID_OPTION',
      message: 'options.streamIdleTtl must be 0 or at least options.sessionTtl and options.retention.maxAgeMs (3600000)',
    }));
    expect(() => resolveOptions({ sessionTtl: 500, retention: { maxAgeMs: 100 }, streamIdleTtl: 499 })).toThrow('options.streamIdleTtl must be 0 or at least options.sessionTtl and options.retention.maxAgeMs (500)');
    expect(() => resolveOptions({ streamIdleTtl: -1 })).toThrow('options.streamIdleTtl must be an integer >= 0');
    expect(() => resolveOptions({ streamIdleTtl: 1.5 * WEEK })).not.toThrow();
    expect(() => resolveOptions({ streamIdleTtl: WEEK + 0.5 })).toThrow('options.streamIdleTtl must be an integer >= 0');
    expect(() => resolveOptions({ streamIdleTtl: '1000' as unknown as number })).toThrow('options.streamIdleTtl must be an integer >= 0');
    await expect(createServer({ port: 0, streamIdleTtl: 10, sessionTtl: 1000 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('is set by --stream-idle-ttl, range-checked before the server starts', () => {
    const parsed = parseCli(['--stream-idle-ttl', '86400000']);
    expect(parsed.help ? undefined : parsed.options.streamIdleTtl).toBe(86_400_000);
    const never = parseCli(['--stream-idle-ttl', '0']);
    expect(never.help ? undefined : never.options.streamIdleTtl).toBe(0);
    expect(() => parseCli(['--stream-idle-ttl=-5'])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => parseCli(['--stream-idle-ttl', '1e6'])).toThrow('--stream-idle-ttl must be an integer from 0 to 9007199254740991');
  });
});
