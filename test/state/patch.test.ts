import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyPatch, diff, escapePointerToken, jsonEqual, parsePointer } from '../../src/protocol/patch.js';
import { ResilientSocketError } from '../../src/protocol/errors.js';
import type { Json, PatchOp } from '../../src/protocol/frames.js';

const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

function expectPatchError(fn: () => unknown, index: number): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ResilientSocketError);
    expect((err as ResilientSocketError).code).toBe('ERR_STATE_GAP');
    expect((err as ResilientSocketError).details?.index).toBe(index);
    return;
  }
  throw new Error('expected applyPatch to throw');
}

describe('diff and applyPatch', () => {
  it('applyPatch(a, diff(a, b)) equals b for arbitrary JSON', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const result = applyPatch(deepFreeze(a), diff(a, b));
        expect(jsonEqual(result, b)).toBe(true);
        expect(result).toEqual(b);
      }),
      { numRuns: Number(process.env['STATE_PROPERTY_RUNS'] ?? 500) },
    );
  });

  it('survives the JSON round trip of the wire', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const ops = JSON.parse(JSON.stringify(diff(a, b))) as PatchOp[];
        const result = applyPatch(JSON.parse(JSON.stringify(a)) as Json, ops);
        expect(result).toEqual(JSON.parse(JSON.stringify(b)));
      }),
      { numRuns: 300 },
    );
  });

  it('produces no ops for equal values and a small patch for one changed field', () => {
    const a: Json = { users: { ann: { score: 1 }, bob: { score: 2 } }, log: [1, 2, 3] };
    expect(diff(a, structuredClone(a))).toEqual([]);
    expect(diff(a, { users: { ann: { score: 5 }, bob: { score: 2 } }, log: [1, 2, 3] })).toEqual([
      { op: 'replace', path: '/users/ann/score', value: 5 },
    ]);
  });

  it('appends to arrays per index and replaces a reordered array whole', () => {
    const long = Array.from({ length: 20 }, (_, i) => `message number ${i}`);
    expect(diff({ log: long }, { log: [...long, 'x', 'y'] })).toEqual([
      { op: 'add', path: '/log/20', value: 'x' },
      { op: 'add', path: '/log/21', value: 'y' },
    ]);
    expect(diff({ log: long }, { log: long.slice(0, 18) })).toEqual([
      { op: 'remove', path: '/log/19' },
      { op: 'remove', path: '/log/18' },
    ]);
    // A tiny array is cheaper to send whole than as per-index operations.
    expect(diff([1, 2], [1, 2, 3, 4])).toEqual([{ op: 'replace', path: '', value: [1, 2, 3, 4] }]);
    const reordered = diff({ l: ['aaaa', 'bbbb', 'cccc', 'dddd'] }, { l: ['dddd', 'aaaa', 'bbbb', 'cccc'] });
    expect(reordered).toEqual([{ op: 'replace', path: '/l', value: ['dddd', 'aaaa', 'bbbb', 'cccc'] }]);
  });

  it('escapes ~ and / in member names (RFC 6901)', () => {
    const ops = diff({}, { 'a/b': 1, 'm~n': 2 });
    expect(ops).toEqual([
      { op: 'add', path: '/a~1b', value: 1 },
      { op: 'add', path: '/m~0n', value: 2 },
    ]);
    expect(escapePointerToken('~1/')).toBe('~01~1');
    expect(parsePointer('/~01~1')).toEqual(['~1/']);
    expect(parsePointer('/a~2')).toBeNull();
    expect(parsePointer('a')).toBeNull();
  });

  it('keeps a member named __proto__ an ordinary property', () => {
    const b = JSON.parse('{"__proto__":{"polluted":true}}') as Json;
    const result = applyPatch({}, diff({}, b)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not modify the input and shares unchanged subtrees', () => {
    const doc = deepFreeze({ a: { x: 1 }, b: { y: [1, 2] } }) as Json;
    const out = applyPatch(doc, [{ op: 'add', path: '/b/y/-', value: 3 }]) as Record<string, Json>;
    expect(out).toEqual({ a: { x: 1 }, b: { y: [1, 2, 3] } });
    expect(out.a).toBe((doc as Record<string, Json>).a);
  });

  it('implements add, remove and replace as RFC 6902 says', () => {
    expect(applyPatch([1, 3], [{ op: 'add', path: '/1', value: 2 }])).toEqual([1, 2, 3]);
    expect(applyPatch({ a: 1 }, [{ op: 'add', path: '/a', value: 2 }])).toEqual({ a: 2 });
    expect(applyPatch({ a: 1, b: 2 }, [{ op: 'remove', path: '/a' }])).toEqual({ b: 2 });
    expect(applyPatch({ a: 1 }, [{ op: 'replace', path: '', value: [1] }])).toEqual([1]);
    expect(applyPatch(null, [{ op: 'add', path: '', value: { n: 1 } }])).toEqual({ n: 1 });
  });

  it('refuses invalid patches with ERR_STATE_GAP and the failing op index', () => {
    expectPatchError(() => applyPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }]), 0);
    expectPatchError(() => applyPatch({ a: 1 }, [{ op: 'remove', path: '/a' }, { op: 'remove', path: '/a' }]), 1);
    expectPatchError(() => applyPatch([1], [{ op: 'replace', path: '/1', value: 1 }]), 0);
    expectPatchError(() => applyPatch([1], [{ op: 'add', path: '/01', value: 1 }]), 0);
    expectPatchError(() => applyPatch([1], [{ op: 'add', path: '/3', value: 1 }]), 0);
    expectPatchError(() => applyPatch(5, [{ op: 'add', path: '/x', value: 1 }]), 0);
    expectPatchError(() => applyPatch({}, [{ op: 'move', path: '/x' } as unknown as PatchOp]), 0);
    expectPatchError(() => applyPatch({}, [{ op: 'add', path: '/x' } as unknown as PatchOp]), 0);
    expectPatchError(() => applyPatch({}, [{ op: 'add', path: 'x', value: 1 }]), 0);
    expectPatchError(() => applyPatch({ a: 1 }, [{ op: 'remove', path: '' }]), 0);
    expectPatchError(() => applyPatch({}, 'nope' as unknown as PatchOp[]), -1);
  });
});
