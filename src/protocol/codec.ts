/**
 * Encode, decode and validate frames. Shared by client and server; imports nothing from Node or
 * the DOM. Validation is schema-driven: one table per direction lists each frame's fields.
 */
import type { ClientFrame, ClientFrameType, ServerFrame, ServerFrameType } from './frames.js';
import type { ErrorCode } from './errors.js';

// Encoding lives in its own module so that a plain-only client can use it without the schemas.
export { encodeFrame, utf8Length } from './encoding.js';

/** The result of decoding one frame. */
export type Decoded<F> = { ok: true; frame: F } | { ok: false; code: ErrorCode; message: string; type?: string };

type Check = (value: unknown) => boolean;
/** The fields of one frame type. @internal */
export type Schema = Record<string, { check: Check; what: string; optional?: boolean }>;

/** Max length of ids, tokens, room and stream names. */
export const MAX_ID_LENGTH = 128;
/**
 * Room names: 1-128 characters from a conservative set, safe as Redis key parts and paths. Names
 * of `Object.prototype` members are refused: room names are keys of plain objects (session
 * records, handshake answers) on both sides, and `__proto__` would replace such an object's
 * prototype instead of adding a key.
 */
export const ROOM_NAME = /^(?!(?:__proto__|constructor|prototype)$)[A-Za-z0-9_.:@/-]{1,128}$/;
/** Max nesting depth of application payloads accepted by `decode`. */
export const MAX_DEPTH = 64;

const isInt: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isSeq: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isId: Check = (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
const isLongString: Check = (v) => typeof v === 'string' && v.length <= 4096;
const isRoom: Check = (v) => typeof v === 'string' && ROOM_NAME.test(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAny: Check = (v) => v !== undefined;
const isBool: Check = (v) => typeof v === 'boolean';
const isTrue: Check = (v) => v === true;
const isPosition: Check = (v) => isObject(v) && isId(v.epoch) && isInt(v.offset);
const isPositions: Check = (v) => isObject(v) && Object.keys(v).length <= 10_000 && Object.entries(v).every(([k, p]) => k.length <= 2 * MAX_ID_LENGTH && isPosition(p));
const isRoomList: Check = (v) => Array.isArray(v) && v.length <= 1000 && v.every(isRoom);
const isVersions: Check = (v) => isObject(v) && Object.values(v).every(isInt);
const isRoomPositions: Check = (v) => isObject(v) && Object.values(v).every((p) => isPosition(p) && isId((p as { stream?: unknown }).stream));
const isHeartbeat: Check = (v) => isObject(v) && isInt(v.interval) && isInt(v.timeout);
const isLimits: Check = (v) => isObject(v) && isInt(v.maxPayload) && isInt(v.maxRooms) && isInt(v.maxRate);
const oneOf = (...values: string[]): Check => (v) => typeof v === 'string' && values.includes(v);
const isNullableString: Check = (v) => v === null || isId(v);
const isErrorBody: Check = (v) => isObject(v) && typeof v.code === 'string' && typeof v.message === 'string';
const isPatch: Check = (v) =>
  Array.isArray(v) &&
  v.every((op) => isObject(op) && typeof op.path === 'string' && (op.op === 'remove' || ((op.op === 'add' || op.op === 'replace') && op.value !== undefined)));
const isGaps: Check = (v) => Array.isArray(v) && v.every((g) => isObject(g) && isId(g.stream) && typeof g.reason === 'string' && isInt(g.from));

const f = (check: Check, what: string, optional = false) => ({ check, what, optional });

const handshakeAnswer: Schema = {
  v: f(isInt, 'an integer'),
  sessionId: f(isId, 'a non-empty string'),
  resumeToken: f(isId, 'a non-empty string'),
  user: f(isNullableString, 'an id or null'),
  rooms: f(isRoomPositions, 'room positions'),
  heartbeat: f(isHeartbeat, '{ interval, timeout }'),
  limits: f(isLimits, 'limits'),
};

/**
 * Fields of the client frames the client queues, and so validates before sending. Its own table
 * so that a browser bundle, which never decodes client frames, leaves the others out.
 */
const QUEUED_SCHEMAS = {
  MESSAGE: {
    seq: f(isSeq, 'a positive integer'),
    id: f(isId, 'a non-empty string of at most 128 characters'),
    room: f(isRoom, 'a room name', true),
    to: f(isId, 'a session id', true),
    data: f(isAny, 'any JSON'),
  },
  JOIN_ROOM: { seq: f(isSeq, 'a positive integer'), room: f(isRoom, 'a room name'), since: f(isPosition, 'a position { epoch, offset }', true) },
  LEAVE_ROOM: { seq: f(isSeq, 'a positive integer'), room: f(isRoom, 'a room name') },
  STATE_EVENT: { seq: f(isSeq, 'a positive integer'), scope: f(isId, 'a scope name'), event: f(isAny, 'any JSON') },
} satisfies Partial<Record<ClientFrameType, Schema>>;

/**
 * Fields of every client frame type. Built in a pure-annotated function so that a browser bundle,
 * which never decodes client frames, drops the table.
 */
export const CLIENT_SCHEMAS: Record<ClientFrameType, Schema> = /* @__PURE__ */ (() => ({
  HELLO: { v: f(isInt, 'an integer'), auth: f(isAny, 'any JSON', true), rooms: f(isRoomList, 'an array of room names', true), state: f(isVersions, 'an object of integer versions', true), foldAcks: f(isTrue, 'true', true) },
  RECONNECT: {
    v: f(isInt, 'an integer'),
    sessionId: f(isId, 'a non-empty string of at most 128 characters'),
    resumeToken: f(isId, 'a non-empty string of at most 128 characters'),
    positions: f(isPositions, 'an object of { epoch, offset } positions'),
    lastAckedSeq: f(isInt, 'a non-negative integer'),
    state: f(isVersions, 'an object of integer versions', true),
    auth: f(isAny, 'any JSON', true),
    rooms: f(isRoomList, 'an array of room names', true),
    foldAcks: f(isTrue, 'true', true),
  },
  MESSAGE: QUEUED_SCHEMAS.MESSAGE,
  JOIN_ROOM: QUEUED_SCHEMAS.JOIN_ROOM,
  LEAVE_ROOM: QUEUED_SCHEMAS.LEAVE_ROOM,
  POSITION_ACK: { positions: f(isPositions, 'an object of { epoch, offset } positions') },
  RESYNC: { stream: f(isId, 'a stream name'), epoch: f(isId, 'an epoch'), from: f(isSeq, 'a positive integer') },
  STATE_ACK: { scope: f(isId, 'a scope name'), version: f(isInt, 'a non-negative integer') },
  STATE_RESYNC: { scope: f(isId, 'a scope name'), version: f(isInt, 'a non-negative integer', true) },
  STATE_EVENT: QUEUED_SCHEMAS.STATE_EVENT,
  AUTH: { ref: f(isId, 'a non-empty string'), auth: f(isAny, 'any JSON') },
  PING: { t: f((v) => typeof v === 'number' && Number.isFinite(v), 'a finite number') },
  BYE: {},
}))();

/** Fields of every server frame type. */
export const SERVER_SCHEMAS: Record<ServerFrameType, Schema> = {
  NEW_SESSION: {
    ...handshakeAnswer,
    recovered: f((v) => v === false, 'false'),
    reason: f(oneOf('expired', 'unknown', 'token_rejected', 'user_mismatch'), 'a reason', true),
  },
  STATE_RECOVERED: {
    ...handshakeAnswer,
    lastSeq: f(isInt, 'a non-negative integer'),
    recovered: f(isBool, 'a boolean'),
    reason: f(oneOf('history_gap', 'epoch_changed'), 'a reason', true),
    gaps: f(isGaps, 'gaps', true),
  },
  REPLAY_DONE: { replayed: f(isInt, 'a non-negative integer') },
  ROOM_JOINED_ACK: {
    seq: f(isSeq, 'a positive integer'),
    room: f(isRoom, 'a room name'),
    stream: f(isId, 'a stream name'),
    epoch: f(isId, 'an epoch'),
    offset: f(isInt, 'a non-negative integer'),
  },
  ROOM_LEFT_ACK: { seq: f(isSeq, 'a positive integer'), room: f(isRoom, 'a room name') },
  ACK: {
    seq: f(isSeq, 'a positive integer'),
    offset: f(isInt, 'a non-negative integer', true),
    version: f(isInt, 'a non-negative integer', true),
    error: f(isErrorBody, '{ code, message }', true),
  },
  NEW_MESSAGE: {
    stream: f(isId, 'a stream name'),
    epoch: f(isId, 'an epoch'),
    offset: f(isSeq, 'a positive integer'),
    room: f(isRoom, 'a room name', true),
    from: f(isNullableString, 'an id or null'),
    user: f(isNullableString, 'an id or null', true),
    id: f(isId, 'a message id'),
    data: f(isAny, 'any JSON'),
    ts: f(isInt, 'a timestamp'),
    replay: f(isTrue, 'true', true),
    ack: f(isSeq, 'a positive integer', true),
  },
  STATE_UPDATE: {
    scope: f(isId, 'a scope name'),
    version: f(isInt, 'a non-negative integer'),
    full: f(isAny, 'any JSON', true),
    patch: f(isPatch, 'a JSON Patch', true),
    base: f(isInt, 'a non-negative integer', true),
    reason: f(oneOf('live', 'recovery', 'resync'), 'live, recovery or resync'),
  },
  AUTH_OK: { ref: f(isId, 'a non-empty string'), user: f(isNullableString, 'an id or null') },
  PONG: { t: f((v) => typeof v === 'number' && Number.isFinite(v), 'a finite number') },
  ERROR: {
    code: f((v) => typeof v === 'string' && v.length <= 64, 'an error code'),
    message: f(isLongString, 'a string'),
    seq: f(isSeq, 'a positive integer', true),
    ref: f(isId, 'a string', true),
    stream: f(isId, 'a stream name', true),
    scope: f(isId, 'a scope name', true),
    fatal: f(isBool, 'a boolean', true),
  },
};

/**
 * Whether a parsed JSON value nests objects or arrays `limit` or more levels below the top.
 * Recursion is bounded by `limit`, so a hostile 100,000-deep array cannot overflow the stack, and
 * nothing is allocated for the flat frames of the hot path.
 */
function depthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit <= 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const c: unknown = value[i];
      if (typeof c === 'object' && c !== null && depthExceeds(c, limit - 1)) return true;
    }
  } else {
    const o = value as Record<string, unknown>;
    for (const k in o) {
      const c = o[k];
      if (typeof c === 'object' && c !== null && depthExceeds(c, limit - 1)) return true;
    }
  }
  return false;
}

/**
 * The two frames of nearly every message a client receives, checked field by field without the
 * schema walk (no indirect call per field, one regex at most). It only says "valid"; anything it
 * refuses goes through the schema, so a bad frame gets exactly the schema's coded error. A
 * property test compares the two on generated frames.
 */
function isValidNewMessage(v: Record<string, unknown>): boolean {
  const room = v.room;
  const user = v.user;
  const replay = v.replay;
  const ack = v.ack;
  return (
    isId(v.stream) &&
    isId(v.epoch) &&
    isSeq(v.offset) &&
    (room === undefined || isRoom(room)) &&
    isNullableString(v.from) &&
    (user === undefined || isNullableString(user)) &&
    isId(v.id) &&
    v.data !== undefined &&
    isInt(v.ts) &&
    (replay === undefined || replay === true) &&
    (ack === undefined || isSeq(ack))
  );
}

function isValidAck(v: Record<string, unknown>): boolean {
  const offset = v.offset;
  const version = v.version;
  const error = v.error;
  return isSeq(v.seq) && (offset === undefined || isInt(offset)) && (version === undefined || isInt(version)) && (error === undefined || isErrorBody(error));
}

function validate<F>(value: unknown, schemas: Record<string, Schema>): Decoded<F> {
  if (schemas === SERVER_SCHEMAS && isObject(value)) {
    const type = value.type;
    if ((type === 'NEW_MESSAGE' && isValidNewMessage(value)) || (type === 'ACK' && isValidAck(value))) return { ok: true, frame: value as F };
  }
  return validateBySchema<F>(value, schemas);
}

/** `validate` without the fast paths: the schema walk alone. Exported for the test comparing both. @internal */
export function validateBySchema<F>(value: unknown, schemas: Record<string, Schema>): Decoded<F> {
  if (!isObject(value) || typeof value.type !== 'string') {
    return { ok: false, code: 'ERR_BAD_FRAME', message: 'a frame must be a JSON object with a string "type"' };
  }
  const type = value.type;
  const schema = Object.prototype.hasOwnProperty.call(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    return { ok: false, code: 'ERR_UNKNOWN_TYPE', message: `unknown frame type ${JSON.stringify(type.slice(0, 64))}`, type: type.slice(0, 64) };
  }
  // for-in, not Object.entries: no array per field on every frame (the schemas are plain literals)
  for (const name in schema) {
    const field = schema[name]!;
    const v = value[name];
    if (v === undefined) {
      if (field.optional) continue;
      return { ok: false, code: 'ERR_BAD_FRAME', message: `${type}.${name} is required (${field.what})`, type };
    }
    if (!field.check(v)) {
      return { ok: false, code: 'ERR_BAD_FRAME', message: `${type}.${name} must be ${field.what}`, type };
    }
  }
  if (type === 'MESSAGE' && value.room !== undefined && value.to !== undefined) {
    return { ok: false, code: 'ERR_BAD_FRAME', message: 'MESSAGE takes at most one of room and to', type };
  }
  if (type === 'STATE_UPDATE' && (value.full === undefined) === (value.patch === undefined)) {
    return { ok: false, code: 'ERR_BAD_FRAME', message: 'STATE_UPDATE takes exactly one of full and patch', type };
  }
  if (type === 'STATE_UPDATE' && value.patch !== undefined && value.base === undefined) {
    return { ok: false, code: 'ERR_BAD_FRAME', message: 'STATE_UPDATE.base is required with patch', type };
  }
  return { ok: true, frame: value as F };
}

/** Parse and validate JSON text, reporting bad JSON and excessive depth as coded errors. Never throws. */
function decode<F>(text: string, schemas: Record<string, Schema>): Decoded<F> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'ERR_BAD_JSON', message: 'frame is not valid JSON' };
  }
  if (depthExceeds(value, MAX_DEPTH)) {
    return { ok: false, code: 'ERR_BAD_FRAME', message: `frame nests deeper than ${MAX_DEPTH} levels` };
  }
  return validate<F>(value, schemas);
}

/** Decode and validate a frame sent by a client. Never throws. */
export function decodeClientFrame(text: string): Decoded<ClientFrame> {
  return decode<ClientFrame>(text, CLIENT_SCHEMAS);
}

/** Decode and validate a frame sent by a server. Never throws. */
export function decodeServerFrame(text: string): Decoded<ServerFrame> {
  return decode<ServerFrame>(text, SERVER_SCHEMAS);
}

/** Validate an already-parsed client frame. */
export function validateClientFrame(value: unknown): Decoded<ClientFrame> {
  return validate<ClientFrame>(value, CLIENT_SCHEMAS);
}

/**
 * Validate an already-parsed client frame of a queued type (`MESSAGE`, `JOIN_ROOM`, `LEAVE_ROOM`,
 * `STATE_EVENT`): the same checks as `validateClientFrame`, any other type is `ERR_UNKNOWN_TYPE`.
 */
export function validateQueuedFrame(value: unknown): Decoded<ClientFrame> {
  return validate<ClientFrame>(value, QUEUED_SCHEMAS);
}

/** Validate an already-parsed server frame. */
export function validateServerFrame(value: unknown): Decoded<ServerFrame> {
  return validate<ServerFrame>(value, SERVER_SCHEMAS);
}
