/**
 * The fast checks of `NEW_MESSAGE` and `ACK` (the frames of nearly every received message) must
 * accept exactly what the schema accepts, and a frame they refuse must get the schema's coded
 * error, word for word: generated frames, valid and broken field by field, through both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SERVER_SCHEMAS, decodeServerFrame, validateBySchema, validateServerFrame } from '../../src/protocol/codec.js';

const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0, 1, 1.5, -1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity),
  fc.string({ maxLength: 5 }),
  fc.constantFrom('', 'room', 'room:r', 'a b', '__proto__', 'x'.repeat(128), 'x'.repeat(129)),
  fc.constant({}),
  fc.constant([]),
  fc.record({ code: fc.string(), message: fc.string() }),
  fc.record({ code: fc.integer() }),
);

const validNewMessage = {
  type: 'NEW_MESSAGE',
  stream: 'room:r',
  epoch: 'e1',
  offset: 3,
  room: 'r',
  from: 's1',
  user: null,
  id: 'm1',
  data: { a: 1 },
  ts: 1,
  replay: true,
  ack: 2,
};
const validAck = { type: 'ACK', seq: 2, offset: 3, version: 4, error: { code: 'ERR_X', message: 'x' } };

/** A valid frame with some fields replaced by arbitrary values (or removed: `undefined`). */
const mutated = (base: Record<string, unknown>) =>
  fc.dictionary(fc.constantFrom(...Object.keys(base).filter((k) => k !== 'type')), anyValue, { maxKeys: 4 }).map((changes) => {
    const frame: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete frame[k];
      else frame[k] = v;
    }
    return frame;
  });

describe('fast checks of NEW_MESSAGE and ACK', () => {
  it('agree with the schema on every generated frame: same verdict, same code, same message', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(validNewMessage), mutated(validAck)), (frame) => {
        expect(validateServerFrame(frame)).toEqual(validateBySchema(frame, SERVER_SCHEMAS));
        expect(decodeServerFrame(JSON.stringify(frame))).toEqual(validateBySchema(JSON.parse(JSON.stringify(frame)), SERVER_SCHEMAS));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuse bad frames with the schema error', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...validNewMessage, offset: 0 }, 'NEW_MESSAGE.offset must be a positive integer'],
      [{ ...validNewMessage, room: 'a b' }, 'NEW_MESSAGE.room must be a room name'],
      [{ ...validNewMessage, ack: 0 }, 'NEW_MESSAGE.ack must be a positive integer'],
      [{ ...validNewMessage, replay: false }, 'NEW_MESSAGE.replay must be true'],
      [{ ...validNewMessage, data: undefined }, 'NEW_MESSAGE.data is required (any JSON)'],
      [{ ...validAck, seq: 1.5 }, 'ACK.seq must be a positive integer'],
      [{ ...validAck, error: { code: 1 } }, 'ACK.error must be { code, message }'],
    ];
    for (const [frame, message] of cases) {
      expect(validateServerFrame(frame)).toEqual({ ok: false, code: 'ERR_BAD_FRAME', message, type: frame.type });
    }
  });
});

describe('HELLO.foldAcks and RECONNECT.foldAcks', () => {
  it('are optional and only ever true', async () => {
    const { validateClientFrame } = await import('../../src/protocol/codec.js');
    const reconnect = { type: 'RECONNECT', v: 1, sessionId: 's', resumeToken: 't', positions: {}, lastAckedSeq: 0 };
    for (const base of [{ type: 'HELLO', v: 1 }, reconnect]) {
      expect(validateClientFrame(base).ok).toBe(true);
      expect(validateClientFrame({ ...base, foldAcks: true }).ok).toBe(true);
      for (const bad of [false, 1, 'true', null]) {
        expect(validateClientFrame({ ...base, foldAcks: bad })).toEqual({ ok: false, code: 'ERR_BAD_FRAME', message: `${base.type}.foldAcks must be true`, type: base.type });
      }
    }
  });
});
