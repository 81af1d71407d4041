import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_SCHEMAS,
  SERVER_SCHEMAS,
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  utf8Length,
  type ClientFrame,
  type ServerFrame,
} from '../../src/protocol/index.js';
import { portableUtf8Length } from '../../src/protocol/encoding.js';

const pos = { epoch: 'e1', offset: 3 };
const validClient: ClientFrame[] = [
  { type: 'HELLO', v: 1 },
  { type: 'HELLO', v: 1, auth: { token: 'x' }, rooms: ['lobby', 'a.b:c'] },
  { type: 'RECONNECT', v: 1, sessionId: 's', resumeToken: 't', positions: { 'room:lobby': pos }, lastAckedSeq: 0 },
  { type: 'MESSAGE', seq: 1, id: 'm1', room: 'lobby', data: { text: 'hi' } },
  { type: 'MESSAGE', seq: 2, id: 'm2', to: 'abc', data: null },
  { type: 'JOIN_ROOM', seq: 3, room: 'lobby', since: pos },
  { type: 'LEAVE_ROOM', seq: 4, room: 'lobby' },
  { type: 'POSITION_ACK', positions: { 'session:abc': pos } },
  { type: 'RESYNC', stream: 'room:lobby', epoch: 'e1', from: 4 },
  { type: 'STATE_ACK', scope: 'session', version: 0 },
  { type: 'STATE_RESYNC', scope: 'room:lobby' },
  { type: 'STATE_EVENT', seq: 5, scope: 'room:lobby', event: { inc: 1 } },
  { type: 'AUTH', ref: 'r1', auth: 'token' },
  { type: 'PING', t: 12.5 },
  { type: 'BYE' },
];
const hs = {
  v: 1,
  sessionId: 's',
  resumeToken: 't',
  user: null,
  rooms: { lobby: { stream: 'room:lobby', epoch: 'e1', offset: 0 } },
  heartbeat: { interval: 10000, timeout: 5000 },
  limits: { maxPayload: 1024, maxRooms: 10, maxRate: 100 },
};
const validServer: ServerFrame[] = [
  { type: 'NEW_SESSION', ...hs, recovered: false, reason: 'expired' },
  { type: 'STATE_RECOVERED', ...hs, lastSeq: 4, recovered: false, reason: 'history_gap', gaps: [{ stream: 'room:lobby', reason: 'history_gap', from: 2, to: 9 }] },
  { type: 'REPLAY_DONE', replayed: 0 },
  { type: 'ROOM_JOINED_ACK', seq: 1, room: 'lobby', stream: 'room:lobby', epoch: 'e1', offset: 0 },
  { type: 'ROOM_LEFT_ACK', seq: 2, room: 'lobby' },
  { type: 'ACK', seq: 3, offset: 7 },
  { type: 'ACK', seq: 4, error: { code: 'ERR_NOT_IN_ROOM', message: 'join first' } },
  { type: 'NEW_MESSAGE', stream: 'room:lobby', epoch: 'e1', offset: 1, room: 'lobby', from: null, id: 'x', data: [1, 2], ts: 1, replay: true },
  { type: 'STATE_UPDATE', scope: 'session', version: 2, patch: [{ op: 'replace', path: '/a', value: 1 }], base: 1, reason: 'live' },
  { type: 'STATE_UPDATE', scope: 'session', version: 2, full: { a: 1 }, reason: 'resync' },
  { type: 'AUTH_OK', ref: 'r1', user: 'u1' },
  { type: 'PONG', t: 1 },
  { type: 'ERROR', code: 'ERR_BAD_JSON', message: 'nope', fatal: false },
];

describe('codec', () => {
  it('accepts every well-formed frame and round-trips it unchanged', () => {
    for (const frame of validClient) expect(decodeClientFrame(encodeFrame(frame)), frame.type).toEqual({ ok: true, frame });
    for (const frame of validServer) expect(decodeServerFrame(encodeFrame(frame)), frame.type).toEqual({ ok: true, frame });
  });

  it('covers every frame type docs/protocol.md specifies, and no other', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/^### `([A-Z_]+)`/gm)].map((m) => m[1]!));
    for (const m of doc.matchAll(/^### `([A-Z_]+)` \([^)]*\) \/ `([A-Z_]+)`/gm)) documented.add(m[2]!);
    const implemented = new Set([...Object.keys(CLIENT_SCHEMAS), ...Object.keys(SERVER_SCHEMAS)]);
    expect([...implemented].sort()).toEqual([...documented].sort());
  });

  it.each([
    ['not JSON', '{"type":', 'ERR_BAD_JSON'],
    ['a JSON array', '[1,2]', 'ERR_BAD_FRAME'],
    ['no type', '{"v":1}', 'ERR_BAD_FRAME'],
    ['an unknown type', '{"type":"NOPE"}', 'ERR_UNKNOWN_TYPE'],
    ['a server type sent by a client', '{"type":"ACK","seq":1}', 'ERR_UNKNOWN_TYPE'],
    ['a missing field', '{"type":"MESSAGE","seq":1,"data":1}', 'ERR_BAD_FRAME'],
    ['seq 0', '{"type":"MESSAGE","seq":0,"id":"a","data":1}', 'ERR_BAD_FRAME'],
    ['a fractional seq', '{"type":"MESSAGE","seq":1.5,"id":"a","data":1}', 'ERR_BAD_FRAME'],
    ['an unsafe integer', '{"type":"MESSAGE","seq":9007199254740993,"id":"a","data":1}', 'ERR_BAD_FRAME'],
    ['both room and to', '{"type":"MESSAGE","seq":1,"id":"a","room":"r","to":"s","data":1}', 'ERR_BAD_FRAME'],
    ['a bad room name', '{"type":"JOIN_ROOM","seq":1,"room":"a b"}', 'ERR_BAD_FRAME'],
    ['an over-long id', `{"type":"MESSAGE","seq":1,"id":"${'x'.repeat(129)}","data":1}`, 'ERR_BAD_FRAME'],
    ['deep nesting', `{"type":"MESSAGE","seq":1,"id":"a","data":${'['.repeat(100)}${']'.repeat(100)}}`, 'ERR_BAD_FRAME'],
    ['a negative position', '{"type":"POSITION_ACK","positions":{"s":{"epoch":"e","offset":-1}}}', 'ERR_BAD_FRAME'],
  ])('rejects %s with a coded error', (_name, text, code) => {
    const decoded = decodeClientFrame(text);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.code).toBe(code);
      expect(decoded.message.length).toBeGreaterThan(0);
    }
  });

  it('rejects a STATE_UPDATE with both or neither of full and patch, or a patch without base', () => {
    const base = { type: 'STATE_UPDATE', scope: 'session', version: 1, reason: 'live' };
    expect(decodeServerFrame(JSON.stringify({ ...base })).ok).toBe(false);
    expect(decodeServerFrame(JSON.stringify({ ...base, full: 1, patch: [], base: 0 })).ok).toBe(false);
    expect(decodeServerFrame(JSON.stringify({ ...base, patch: [] })).ok).toBe(false);
  });

  it('survives a 100,000-level nesting bomb without overflowing the stack', () => {
    const bomb = `{"type":"MESSAGE","seq":1,"id":"a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const decoded = decodeClientFrame(bomb);
    expect(decoded.ok).toBe(false);
  });

  it('counts UTF-8 bytes like TextEncoder does (the native count of Node and the plain-JavaScript one of browsers)', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a😀b€', '\ud800', 'x\udc00y', '\ud83d', '\ud83d\ud83d\ude00']) {
      const expected = new TextEncoder().encode(s).length;
      expect(utf8Length(s), JSON.stringify(s)).toBe(expected);
      expect(portableUtf8Length(s), JSON.stringify(s)).toBe(expected);
    }
  });
});
