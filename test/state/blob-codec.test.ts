import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBlob, decodeBlobSync, encodeBlob, encodeBlobSync } from '../../src/server/state/blob-codec.js';
import { ResilientSocketError } from '../../src/protocol/errors.js';
import type { Json } from '../../src/protocol/frames.js';

const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;
const viaJson = (v: Json): Json => JSON.parse(JSON.stringify(v)) as Json;

describe('state blob codec', () => {
  it('reads back the same value compressed or not, async or sync', async () => {
    await fc.assert(
      fc.asyncProperty(json, async (value) => {
        const packed = await encodeBlob(value, 0);
        const plain = await encodeBlob(value, Number.MAX_SAFE_INTEGER);
        expect(packed.encoding).toBe('deflate');
        expect(plain).toEqual({ encoding: 'json', data: JSON.stringify(value) });
        const expected = viaJson(value);
        expect(await decodeBlob(packed)).toEqual(expected);
        expect(await decodeBlob(plain)).toEqual(expected);
        expect(decodeBlobSync(encodeBlobSync(value, 0))).toEqual(expected);
        expect(decodeBlobSync(packed)).toEqual(expected);
      }),
      { numRuns: Number(process.env['STATE_PROPERTY_RUNS'] ?? 200) },
    );
  });

  it('compresses exactly above the threshold, counting UTF-8 bytes', async () => {
    const value = 'é'.repeat(10); // 22 bytes of JSON, 12 characters
    expect((await encodeBlob(value, 22)).encoding).toBe('json');
    expect((await encodeBlob(value, 21)).encoding).toBe('deflate');
    expect(encodeBlobSync(value, 21).encoding).toBe('deflate');
  });

  it('reports a corrupt or unknown blob as ERR_INTERNAL', async () => {
    for (const blob of [{ encoding: 'deflate', data: 'not zlib' }, { encoding: 'json', data: '{' }, { encoding: 'gzip', data: '' }] as const) {
      const err = await decodeBlob(blob as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResilientSocketError);
      expect((err as ResilientSocketError).code).toBe('ERR_INTERNAL');
      expect(() => decodeBlobSync(blob as never)).toThrow(ResilientSocketError);
    }
  });
});
