/**
 * `RedisLink.script` against a real Redis: one script can take a different number of keys from
 * call to call (the count travels with each call). Defined with the first call's count, a later
 * call with more keys would have shifted its extra keys into ARGV without a word.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../src/server/stores/redis-link.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

const available = await redisAvailable();
const prefix = uniquePrefix('link-script');

// KEYS and ARGV as the script saw them, and one write per key so the keys are real keys.
const ECHO = `
for _, k in ipairs(KEYS) do redis.call('SET', k, '1', 'PX', 60000) end
return { #KEYS, table.concat(KEYS, ','), table.concat(ARGV, ',') }
`;

describe.runIf(available)('RedisLink.script', () => {
  const link = new RedisLink({
    url: REDIS_URL,
    client: undefined,
    commandTimeoutMs: 5000,
    connectionName: 'link-script-test',
    onError: undefined,
    onAvailabilityChange: undefined,
    onMessage: () => undefined,
    onResubscribed: () => undefined,
  });

  afterAll(async () => {
    await link.close();
    await deleteKeys(prefix);
  });

  it('takes a different number of keys on each call of the same script', async () => {
    const k = (n: number) => `${prefix}k${n}`;
    expect(await link.script('rsTestEcho', ECHO, [k(1)], ['a'])).toEqual([1, k(1), 'a']);
    expect(await link.script('rsTestEcho', ECHO, [k(1), k(2), k(3)], ['b', 'c'])).toEqual([3, [k(1), k(2), k(3)].join(','), 'b,c']);
    expect(await link.script('rsTestEcho', ECHO, [], ['d', 'e', 'f'])).toEqual([0, '', 'd,e,f']);
  });
});
