/**
 * Fuzzing the codec: whatever text arrives, `decodeClientFrame` / `decodeServerFrame` return a
 * result instead of throwing, every rejection carries a registered error code, and whatever they
 * accept survives an encode/decode round trip unchanged. `FUZZ_RUNS` raises the run count
 * (`node scripts/fuzz.mjs`).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CLIENT_SCHEMAS, SERVER_SCHEMAS, decodeClientFrame, decodeServerFrame, encodeFrame, isErrorCode } from '../../src/protocol/index.js';
import type { ClientFrame, Decoded, ServerFrame } from '../../src/protocol/index.js';
import { FUZZ_RUNS, deeplyNested, mutatedFrameText, validClientFrame, validServerFrame } from './frames.arbitrary.js';

type Decoder = (text: string) => Decoded<ClientFrame | ServerFrame>;

const sides: Array<{ name: string; decode: Decoder; types: object; valid: fc.Arbitrary<ClientFrame | ServerFrame> }> = [
  { name: 'decodeClientFrame', decode: decodeClientFrame, types: CLIENT_SCHEMAS, valid: validClientFrame },
  { name: 'decodeServerFrame', decode: decodeServerFrame, types: SERVER_SCHEMAS, valid: validServerFrame },
];

/** The invariants every decode must keep, whatever the input. Returns the result for more checks. */
function checkDecode(decode: Decoder, types: object, text: string): Decoded<ClientFrame | ServerFrame> {
  let result: Decoded<ClientFrame | ServerFrame> | undefined;
  expect(() => (result = decode(text))).not.toThrow();
  const r = result!;
  if (!r.ok) {
    expect(isErrorCode(r.code), `unregistered code ${String(r.code)}`).toBe(true);
    expect(typeof r.message).toBe('string');
    expect(r.message.length).toBeLessThan(1_000);
    return r;
  }
  expect(Object.prototype.hasOwnProperty.call(types, r.frame.type)).toBe(true);
  // An accepted frame re-encodes to text that decodes to the same frame.
  const encoded = encodeFrame(r.frame);
  const again = decode(encoded);
  expect(again.ok, encoded.slice(0, 200)).toBe(true);
  if (again.ok) expect(encodeFrame(again.frame)).toBe(encoded);
  return r;
}

describe.each(sides)('$name under fuzzing', ({ decode, types, valid }) => {
  const params = { numRuns: FUZZ_RUNS };

  it('never throws on arbitrary strings, and codes every rejection', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', 'e', '-', 'a', '\\') })), (text) => {
        checkDecode(decode, types, text);
      }),
      params,
    );
  });

  it('never throws on arbitrary JSON values, and round-trips what it accepts', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        checkDecode(decode, types, JSON.stringify(value));
      }),
      params,
    );
  });

  it('accepts every valid frame and round-trips it unchanged', () => {
    fc.assert(
      fc.property(valid, (frame) => {
        const r = checkDecode(decode, types, encodeFrame(frame));
        expect(r.ok, JSON.stringify(r).slice(0, 300)).toBe(true);
        if (r.ok) expect(encodeFrame(r.frame)).toBe(encodeFrame(frame));
      }),
      params,
    );
  });

  it('never throws on mutated valid frames (wrong types, missing fields, huge numbers, deep nesting, long strings)', () => {
    fc.assert(
      fc.property(mutatedFrameText(valid), (text) => {
        checkDecode(decode, types, text);
      }),
      params,
    );
  });

  it('never throws on arbitrary objects with a known type and hostile fields', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(types)), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), (type, fields) => {
        checkDecode(decode, types, JSON.stringify({ ...fields, type }));
      }),
      params,
    );
  });
});

describe('codec edge cases', () => {
  it('rejects 10,000 levels of nesting, at the top or inside a field, with ERR_BAD_FRAME', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const text of [deep, deeplyNested('MESSAGE'), `{"type":"PING","t":1,"x":${deep}}`]) {
      const r = checkDecode(decodeClientFrame, CLIENT_SCHEMAS, text);
      expect(r).toMatchObject({ ok: false, code: 'ERR_BAD_FRAME' });
    }
    const r = checkDecode(decodeServerFrame, SERVER_SCHEMAS, deeplyNested('NEW_MESSAGE'));
    expect(r).toMatchObject({ ok: false, code: 'ERR_BAD_FRAME' });
  });

  it('rejects non-finite and unsafe numbers where integers are required', () => {
    for (const n of ['1e400', '-1', '1.5', '9007199254740992', '-0.5']) {
      const r = checkDecode(decodeClientFrame, CLIENT_SCHEMAS, `{"type":"STATE_ACK","scope":"s","version":${n}}`);
      expect(r, n).toMatchObject({ ok: false, code: 'ERR_BAD_FRAME' });
    }
    expect(checkDecode(decodeClientFrame, CLIENT_SCHEMAS, '{"type":"PING","t":1e400}')).toMatchObject({ ok: false, code: 'ERR_BAD_FRAME' });
    expect(checkDecode(decodeClientFrame, CLIENT_SCHEMAS, '{"type":"PING","t":NaN}')).toMatchObject({ ok: false, code: 'ERR_BAD_JSON' });
  });

  it('treats prototype names as unknown types, never as schema lookups', () => {
    for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(checkDecode(decodeClientFrame, CLIENT_SCHEMAS, JSON.stringify({ type }))).toMatchObject({ ok: false, code: 'ERR_UNKNOWN_TYPE' });
      expect(checkDecode(decodeServerFrame, SERVER_SCHEMAS, JSON.stringify({ type }))).toMatchObject({ ok: false, code: 'ERR_UNKNOWN_TYPE' });
    }
  });

  it('bounds the error message for a very long unknown type', () => {
    const r = checkDecode(decodeClientFrame, CLIENT_SCHEMAS, JSON.stringify({ type: 'X'.repeat(1_000_000) }));
    expect(r).toMatchObject({ ok: false, code: 'ERR_UNKNOWN_TYPE' });
  });
});
