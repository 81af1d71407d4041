import { describe, expect, it } from 'vitest';
import { validateClientFrame, validateQueuedFrame } from '../../src/protocol/codec.js';

// The browser client validates what it queues with a table of the four queued frame types only
// (so the bundle leaves the other client schemas out): it must judge those exactly as the full one.
describe('validateQueuedFrame', () => {
  const frames: unknown[] = [
    { type: 'MESSAGE', seq: 1, id: 'c-1', data: { a: 1 } },
    { type: 'MESSAGE', seq: 1, id: 'c-1', room: 'lobby', data: null },
    { type: 'MESSAGE', seq: 1, id: 'c-1', to: 's-1', data: 'x' },
    { type: 'MESSAGE', seq: 1, id: 'c-1', room: 'lobby', to: 's-1', data: 1 },
    { type: 'MESSAGE', seq: 0, id: 'c-1', data: 1 },
    { type: 'MESSAGE', seq: 1, id: '', data: 1 },
    { type: 'MESSAGE', seq: 1, id: 'x'.repeat(129), data: 1 },
    { type: 'MESSAGE', seq: 1, id: 'c-1' },
    { type: 'MESSAGE', seq: 1, id: 'c-1', room: 'bad room', data: 1 },
    { type: 'JOIN_ROOM', seq: 2, room: 'lobby' },
    { type: 'JOIN_ROOM', seq: 2, room: 'lobby', since: { epoch: 'e', offset: 3 } },
    { type: 'JOIN_ROOM', seq: 2, room: 'lobby', since: { epoch: 'e', offset: -1 } },
    { type: 'JOIN_ROOM', seq: 2, room: '' },
    { type: 'LEAVE_ROOM', seq: 3, room: 'lobby' },
    { type: 'LEAVE_ROOM', seq: 3.5, room: 'lobby' },
    { type: 'STATE_EVENT', seq: 4, scope: 'session', event: { inc: 1 } },
    { type: 'STATE_EVENT', seq: 4, scope: '', event: 1 },
    { type: 'STATE_EVENT', seq: 4, scope: 'room:a' },
    { seq: 1 },
    null,
    [],
  ];

  it('judges the queued types exactly as validateClientFrame', () => {
    for (const frame of frames) expect(validateQueuedFrame(frame), JSON.stringify(frame)).toEqual(validateClientFrame(frame));
  });

  it('knows no other type', () => {
    for (const frame of [{ type: 'HELLO', v: 1 }, { type: 'PING', t: 1 }, { type: 'BYE' }]) {
      expect(validateClientFrame(frame).ok).toBe(true);
      expect(validateQueuedFrame(frame)).toMatchObject({ ok: false, code: 'ERR_UNKNOWN_TYPE' });
    }
  });
});
