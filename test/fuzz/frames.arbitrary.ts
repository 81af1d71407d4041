/**
 * fast-check arbitraries for protocol v1 frames: valid frames of every type (client and server),
 * and hostile mutations of them. Shared by the codec and the server fuzz tests.
 */
import fc from 'fast-check';
import { CLIENT_SCHEMAS, SERVER_SCHEMAS } from '../../src/protocol/index.js';
import type { ClientFrame, ServerFrame } from '../../src/protocol/index.js';

/** Number of runs per property: small in the regular suite, raised by `scripts/fuzz.mjs`. */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);

/**
 * Runs of the server fuzz, where each run is a network round trip (~5 ms): `FUZZ_SERVER_RUNS`,
 * else `FUZZ_RUNS` capped at 20000 so the long run stays under a few minutes.
 */
export const FUZZ_SERVER_RUNS = Math.max(1, Number(process.env.FUZZ_SERVER_RUNS ?? Math.min(FUZZ_RUNS, 20_000)) || 150);

const id = fc.string({ minLength: 1, maxLength: 128 });
// the codec refuses the names of Object.prototype members (ROOM_NAME)
const room = fc.stringMatching(/^[A-Za-z0-9_.:@/-]{1,40}$/).filter((r) => r !== '__proto__' && r !== 'constructor' && r !== 'prototype');
const int = fc.maxSafeNat();
const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const json = fc.jsonValue({ maxDepth: 4 });
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const position = fc.record({ epoch: id, offset: int });
const positions = fc.dictionary(fc.string({ maxLength: 40 }), position, { maxKeys: 4 });
const rooms = fc.array(room, { maxLength: 4 });
const nullableId = fc.oneof(fc.constant(null), id);
const roomPositions = fc.dictionary(room, fc.record({ stream: id, epoch: id, offset: int }), { maxKeys: 3 });
const handshake = {
  v: int,
  sessionId: id,
  resumeToken: id,
  user: nullableId,
  rooms: roomPositions,
  heartbeat: fc.record({ interval: int, timeout: int }),
  limits: fc.record({ maxPayload: int, maxRooms: int, maxRate: int }),
};

/** A record with `type` fixed and the listed keys optional. */
function frame<T extends Record<string, fc.Arbitrary<unknown>>>(type: string, fields: T, optional: Array<keyof T & string> = []) {
  const required = Object.keys(fields).filter((k) => !optional.includes(k)) as Array<keyof T & string>;
  return fc.record(fields, { requiredKeys: required }).map((f) => ({ type, ...f }));
}

const patchOp = fc.oneof(
  fc.record({ op: fc.constant('remove' as const), path: fc.string() }),
  fc.record({ op: fc.constantFrom('add' as const, 'replace' as const), path: fc.string(), value: json }),
);

/** Every valid client frame type. */
export const validClientFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  frame('HELLO', { v: int, auth: json, rooms, foldAcks: fc.constant(true) }, ['auth', 'rooms', 'foldAcks']),
  frame(
    'RECONNECT',
    { v: int, sessionId: id, resumeToken: id, positions, lastAckedSeq: int, state: fc.dictionary(fc.string(), int, { maxKeys: 3 }), auth: json, rooms, foldAcks: fc.constant(true) },
    ['state', 'auth', 'rooms', 'foldAcks'],
  ),
  fc.oneof(
    frame('MESSAGE', { seq, id, data: json }),
    frame('MESSAGE', { seq, id, room, data: json }),
    frame('MESSAGE', { seq, id, to: id, data: json }),
  ),
  frame('JOIN_ROOM', { seq, room, since: position }, ['since']),
  frame('LEAVE_ROOM', { seq, room }),
  frame('POSITION_ACK', { positions }),
  frame('RESYNC', { stream: id, epoch: id, from: seq }),
  frame('STATE_ACK', { scope: id, version: int }),
  frame('STATE_RESYNC', { scope: id, version: int }, ['version']),
  frame('STATE_EVENT', { seq, scope: id, event: json }),
  frame('AUTH', { ref: id, auth: json }),
  frame('PING', { t: finite }),
  frame('BYE', {}),
) as fc.Arbitrary<ClientFrame>;

/** Every valid server frame type. */
export const validServerFrame: fc.Arbitrary<ServerFrame> = fc.oneof(
  frame('NEW_SESSION', { ...handshake, recovered: fc.constant(false), reason: fc.constantFrom('expired', 'unknown', 'token_rejected', 'user_mismatch') }, ['reason']),
  frame(
    'STATE_RECOVERED',
    {
      ...handshake,
      lastSeq: int,
      recovered: fc.boolean(),
      reason: fc.constantFrom('history_gap', 'epoch_changed'),
      gaps: fc.array(fc.record({ stream: id, reason: fc.constantFrom('history_gap', 'epoch_changed'), from: int }), { maxLength: 3 }),
    },
    ['reason', 'gaps'],
  ),
  frame('REPLAY_DONE', { replayed: int }),
  frame('ROOM_JOINED_ACK', { seq, room, stream: id, epoch: id, offset: int }),
  frame('ROOM_LEFT_ACK', { seq, room }),
  frame('ACK', { seq, offset: int, version: int, error: fc.record({ code: fc.string(), message: fc.string() }) }, ['offset', 'version', 'error']),
  frame('NEW_MESSAGE', { stream: id, epoch: id, offset: seq, room, from: nullableId, user: nullableId, id, data: json, ts: int, replay: fc.constant(true), ack: seq }, [
    'room',
    'user',
    'replay',
    'ack',
  ]),
  fc.oneof(
    frame('STATE_UPDATE', { scope: id, version: int, full: json, reason: fc.constantFrom('live', 'recovery', 'resync') }),
    frame('STATE_UPDATE', { scope: id, version: int, patch: fc.array(patchOp, { maxLength: 4 }), base: int, reason: fc.constantFrom('live', 'recovery', 'resync') }),
  ),
  frame('AUTH_OK', { ref: id, user: nullableId }),
  frame('PONG', { t: finite }),
  frame('ERROR', { code: fc.string({ maxLength: 64 }), message: fc.string(), seq, ref: id, stream: id, scope: id, fatal: fc.boolean() }, [
    'seq',
    'ref',
    'stream',
    'scope',
    'fatal',
  ]),
) as fc.Arbitrary<ServerFrame>;

// Raw JSON text spliced into an encoded frame where a placeholder string stands: values that
// JSON.stringify cannot produce (deep nesting, overflowing numbers, non-JSON literals).
const DEEP = 10_000;
const RAW_TOKENS = [
  '['.repeat(DEEP) + ']'.repeat(DEEP),
  '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP),
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '123456789012345678901234567890',
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  '0x10',
  '01',
] as const;
const placeholder = (i: number): string => `\u0000raw${i}\u0000`;

/** Values that break field checks: wrong types, edge numbers, long strings, odd objects. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  json,
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER + 1,
    -Number.MAX_SAFE_INTEGER - 1,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    'NaN',
    'Infinity',
    '',
    '1',
    [],
    {},
    { epoch: 'e', offset: -1 },
    { __proto__: null },
    ['__proto__'],
  ),
  fc.string({ minLength: 129, maxLength: 300 }),
  fc.integer({ min: 1, max: 4 }).map((n) => 'x'.repeat(n * 100_000)),
  fc.integer({ min: 0, max: RAW_TOKENS.length - 1 }).map(placeholder),
);

/** Frame types a peer might invent: near-misses, prototype names, long and odd strings. */
const hostileType: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.constantFrom(...Object.keys(CLIENT_SCHEMAS), ...Object.keys(SERVER_SCHEMAS)).map((t) => t.toLowerCase()),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'PING ', ' PING', 'PİNG'),
  fc.constant('T'.repeat(100_000)),
  fc.constantFrom(null, 1, true, [], {}, ['PING']),
);

type Mutation =
  | { kind: 'delete'; key: number }
  | { kind: 'set'; key: number; value: unknown }
  | { kind: 'add'; name: string; value: unknown }
  | { kind: 'type'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), key: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), key: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('add' as const), name: fc.string(), value: hostileValue }),
  fc.record({ kind: fc.constant('type' as const), value: hostileType }),
);

type TextMutation = { kind: 'none' } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; text: string } | { kind: 'wrap'; how: number };

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('"', ',', '}', '{', ']', '\\', '\u0000', '\ufeff', ' ', 'null') }),
  fc.record({ kind: fc.constant('wrap' as const), how: fc.nat({ max: 3 }) }),
);

function applyMutations(frame: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...frame };
  for (const m of mutations) {
    const keys = Object.keys(out);
    if (m.kind === 'delete' && keys.length > 0) delete out[keys[m.key % keys.length]!];
    else if (m.kind === 'set' && keys.length > 0) out[keys[m.key % keys.length]!] = m.value;
    else if (m.kind === 'add') Object.defineProperty(out, m.name, { value: m.value, enumerable: true, writable: true, configurable: true });
    else if (m.kind === 'type') out.type = m.value;
  }
  return out;
}

function encodeHostile(value: unknown, text: TextMutation): string {
  let s = JSON.stringify(value);
  RAW_TOKENS.forEach((token, i) => {
    s = s.split(JSON.stringify(placeholder(i))).join(token);
  });
  switch (text.kind) {
    case 'truncate':
      return s.slice(0, text.at % (s.length + 1));
    case 'insert': {
      const at = text.at % (s.length + 1);
      return s.slice(0, at) + text.text + s.slice(at);
    }
    case 'wrap':
      return [`[${s}]`, `{"frame":${s}}`, `${s}${s}`, `\ufeff${s}`][text.how]!;
    default:
      return s;
  }
}

/** JSON text of a valid frame (client or server, per `valid`) with one to three hostile mutations. */
export function mutatedFrameText(valid: fc.Arbitrary<ClientFrame | ServerFrame>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }), textMutation)
    .map(([f, ms, text]) => encodeHostile(applyMutations(f as unknown as Record<string, unknown>, ms), text));
}

/** A frame nested `depth` levels deep inside a field of an otherwise valid frame. */
export function deeplyNested(type: 'MESSAGE' | 'NEW_MESSAGE', depth = DEEP): string {
  const deep = '['.repeat(depth) + ']'.repeat(depth);
  return type === 'MESSAGE'
    ? `{"type":"MESSAGE","seq":1,"id":"m1","data":${deep}}`
    : `{"type":"NEW_MESSAGE","stream":"room:a","epoch":"e","offset":1,"from":null,"id":"m","ts":1,"data":${deep}}`;
}
