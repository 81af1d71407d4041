/**
 * How `MemoryStore` holds a session: compact, because a server keeps one per disconnected client
 * for `sessionTtl` (minutes), and a reconnect storm leaves thousands of them.
 */
import { roomStream, sessionStream } from '../../protocol/index.js';
import type { Position, Positions } from '../../protocol/index.js';
import type { SessionRecord, SessionUpdate } from './store.js';

const HEX_DIGEST = /^[0-9a-f]{64}$/;

/** What the blob holds, unpacked. */
interface Packed {
  createdAt: number;
  tokenHash: string;
  prevTokenHash: string | undefined;
  ownEpoch: string | undefined;
  rooms: Record<string, Position>;
  positions: Positions;
}

/**
 * A stored session. The fields the store reads on every sequenced write or sweep (`lastSeq`,
 * `expiresAt`, `owner`, `user`) are plain fields; everything else (token hashes, rooms,
 * positions, creation time) is one binary string, `blob`: one small object and one string per
 * session instead of a record, two objects of positions keyed by stream name (which would also
 * give each session its own hidden class through its direct stream's name), a position object
 * per stream and 64-character hex hashes. The id is the store's map key, not repeated here.
 * Records go in and out as fresh `SessionRecord` objects, so nobody aliases what is stored.
 */
export class StoredSession {
  user: string | null;
  owner: string | null;
  expiresAt: number | null;
  lastSeq: number;
  /** See `encode`. */
  private blob: string;

  constructor(record: SessionRecord | undefined, ownEpoch?: string) {
    if (record === undefined) {
      // Filled in by `unpark`.
      this.user = null;
      this.owner = null;
      this.expiresAt = null;
      this.lastSeq = 0;
      this.blob = '';
      return;
    }
    this.user = record.user;
    this.owner = record.owner;
    this.expiresAt = record.expiresAt;
    this.lastSeq = record.lastSeq;
    this.blob = encode(record.id, { createdAt: record.createdAt, tokenHash: record.tokenHash, prevTokenHash: record.prevTokenHash, ownEpoch, rooms: record.rooms, positions: record.positions });
  }

  /**
   * The whole session as one string, for a detached session (no owner, an expiry): what a server
   * keeps per disconnected client is then one map entry and one string. Null when attached.
   * Layout: flags (1: a user, 2: expiresAt counts from createdAt) · expiresAt (num: absolute, or
   * the ms after createdAt, fewer bytes) · lastSeq (num) · [user (str)] · the blob (which starts
   * with createdAt).
   */
  park(): string | null {
    if (this.owner !== null || this.expiresAt === null) return null;
    const createdAt = new Reader(this.blob).num();
    const after = this.expiresAt - createdAt;
    const relative = Number.isSafeInteger(after) && after >= 0 && createdAt + after === this.expiresAt;
    const w = new Writer();
    w.byte((this.user !== null ? PARKED_USER : 0) | (relative ? PARKED_RELATIVE : 0));
    w.num(relative ? after : this.expiresAt);
    w.num(this.lastSeq);
    if (this.user !== null) w.str(this.user);
    // Written into the one buffer: a concatenation would keep both strings behind a cons string.
    w.latin1(this.blob);
    return w.buf.toString('latin1', 0, w.at);
  }

  /** The session `park` returned. */
  static unpark(parked: string): StoredSession {
    const r = new Reader(parked);
    const session = new StoredSession(undefined);
    const flags = r.byte();
    const expiry = r.num();
    session.lastSeq = r.num();
    session.user = flags & PARKED_USER ? r.str() : null;
    session.blob = parked.slice(r.at);
    session.expiresAt = flags & PARKED_RELATIVE ? r.num() + expiry : expiry;
    return session;
  }

  /** `expiresAt` of a parked session, read without unparking it. */
  static parkedExpiresAt(parked: string): number {
    const r = new Reader(parked);
    const flags = r.byte();
    const expiry = r.num();
    if ((flags & PARKED_RELATIVE) === 0) return expiry;
    r.num();
    if (flags & PARKED_USER) {
      // Not `r.at += r.uint()`: that reads `r.at` before uint() moves it past the length.
      const length = r.uint();
      r.at += length;
    }
    return r.num() + expiry;
  }

  /**
   * Whether a parked session belongs to the user whose id, as UTF-8 bytes one per character,
   * is `userBytes` (see `userBytes`). Compares in place: counting a user's sessions reads every
   * parked session, so nothing is allocated per session.
   */
  static parkedUserIs(parked: string, userBytes: string): boolean {
    const r = new Reader(parked);
    if ((r.byte() & PARKED_USER) === 0) return false;
    r.num();
    r.num();
    return r.uint() === userBytes.length && parked.startsWith(userBytes, r.at);
  }

  /** A user id as `parkedUserIs` compares it: its bytes as `Writer.str` writes them. */
  static userBytes(user: string): string {
    return strBytes(user);
  }

  /**
   * Epoch of the session's direct stream while that stream holds nothing and so is not stored
   * (see `MemoryStore.createSession`); undefined once it is.
   */
  ownEpoch(id: string): string | undefined {
    return decode(id, this.blob).ownEpoch;
  }

  /** Forget `ownEpoch` (the direct stream now exists, or was deleted). */
  dropOwnEpoch(id: string): void {
    const packed = decode(id, this.blob);
    if (packed.ownEpoch === undefined) return;
    packed.ownEpoch = undefined;
    this.blob = encode(id, packed);
  }

  /** Apply an update (`id`: the session's id). */
  apply(id: string, update: SessionUpdate): void {
    if (update.user !== undefined) this.user = update.user;
    if (update.tokenHash === undefined && update.prevTokenHash === undefined && update.rooms === undefined && update.positions === undefined) return;
    const packed = decode(id, this.blob);
    if (update.tokenHash !== undefined) packed.tokenHash = update.tokenHash;
    if (update.prevTokenHash !== undefined) packed.prevTokenHash = update.prevTokenHash;
    if (update.rooms !== undefined) packed.rooms = update.rooms;
    if (update.positions !== undefined) packed.positions = update.positions;
    this.blob = encode(id, packed);
  }

  /** A new `SessionRecord` equal to the stored one. */
  toRecord(id: string): SessionRecord {
    const packed = decode(id, this.blob);
    const record: SessionRecord = {
      id,
      tokenHash: packed.tokenHash,
      user: this.user,
      rooms: packed.rooms,
      positions: packed.positions,
      lastSeq: this.lastSeq,
      createdAt: packed.createdAt,
      owner: this.owner,
      expiresAt: this.expiresAt,
    };
    if (packed.prevTokenHash !== undefined) record.prevTokenHash = packed.prevTokenHash;
    return record;
  }
}

// ---- the blob: one byte per character (latin1), so it costs one byte per byte on the heap.
// createdAt (num) · flags (1: prevTokenHash, 2: ownEpoch, 4: tokenHash is text, 8: prevTokenHash
// is text) · tokenHash (hash) · [prevTokenHash (hash)] · [ownEpoch (epoch)] ·
// room count (uint), each: name (str), epoch, offset (num) ·
// position count (uint), each: kind (0: the session's direct stream, 1: named, 2: the stream of
// room #i) [name (str) | i (uint)], epoch, offset (num).
// epoch: 0 + str, 255 + the 8 bytes of a base64url epoch of 8 bytes, or 0 < k < 255: the k-th
// epoch written before (positions mostly repeat the rooms' epochs).
// hash: the 32 bytes of a SHA-256 hex digest, or a str (flagged text) · str: uint byte length + UTF-8 ·
// uint: 7 bits a byte, low first · num: uint 2n for an integer 0 <= n <= 2^52, else uint 1 + float64.

const PARKED_USER = 1;
const PARKED_RELATIVE = 2;
const PREV = 1;
const OWN_EPOCH = 2;
/** The token hash is not a SHA-256 hex digest (kept as a str). */
const TOKEN_TEXT = 4;
const PREV_TEXT = 8;

function isDigest(hash: string): boolean {
  return HEX_DIGEST.test(hash);
}
const OWN_STREAM = 0;
const NAMED_STREAM = 1;
const ROOM_STREAM = 2;

class Writer {
  buf = Buffer.allocUnsafe(256);
  at = 0;
  private readonly epochs: string[] = [];

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  byte(value: number): void {
    this.room(1);
    this.buf[this.at++] = value;
  }

  uint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.byte((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.byte(rest);
  }

  float(value: number): void {
    this.room(8);
    this.buf.writeDoubleLE(value, this.at);
    this.at += 8;
  }

  num(value: number): void {
    // An integer n as 2n, anything else as 1 and then the float: one byte less than a tag.
    if (Number.isSafeInteger(value) && value >= 0 && value <= 2 ** 52) this.uint(value * 2);
    else {
      this.uint(1);
      this.float(value);
    }
  }


  /** A string whose characters are bytes, as they are. */
  latin1(value: string): void {
    this.room(value.length);
    this.at += this.buf.write(value, this.at, 'latin1');
  }

  str(value: string): void {
    if (!wellFormed(value)) {
      this.latin1WithLength(strBytes(value));
      return;
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.uint(length);
    this.room(length);
    this.at += this.buf.write(value, this.at, 'utf8');
  }

  latin1WithLength(bytes: string): void {
    this.uint(bytes.length);
    this.latin1(bytes);
  }

  epoch(value: string): void {
    const known = this.epochs.indexOf(value);
    if (known >= 0 && known < RAW_EPOCH - 1) {
      this.byte(known + 1);
      return;
    }
    this.epochs.push(value);
    // An epoch as stores make them (8 random bytes, base64url) as its 8 bytes.
    if (value.length === 11 && BASE64URL.test(value)) {
      const bytes = Buffer.from(value, 'base64url');
      if (bytes.length === 8 && bytes.toString('base64url') === value) {
        this.byte(RAW_EPOCH);
        this.room(8);
        this.at += bytes.copy(this.buf, this.at);
        return;
      }
    }
    this.byte(0);
    this.str(value);
  }

  /** A hash `isDigest` said is a SHA-256 hex digest, as its 32 bytes; any other string as a str. */
  hash(value: string): void {
    if (isDigest(value)) {
      this.room(32);
      this.at += this.buf.write(value, this.at, 'hex');
    } else this.str(value);
  }

}

/** Reads the blob's characters as bytes, without copying it into a buffer. */
class Reader {
  at = 0;
  private readonly epochs: string[] = [];
  constructor(private readonly blob: string) {}

  byte(): number {
    return this.blob.charCodeAt(this.at++);
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  }

  float(): number {
    const value = Buffer.from(this.blob.slice(this.at, this.at + 8), 'latin1').readDoubleLE(0);
    this.at += 8;
    return value;
  }

  num(): number {
    const n = this.uint();
    return n % 2 === 0 ? n / 2 : this.float();
  }


  str(): string {
    const length = this.uint();
    const bytes = this.blob.slice(this.at, this.at + length);
    this.at += length;
    // ASCII bytes are their own characters; a string UTF-8 cannot carry comes as UTF-16 behind a
    // 0xFF byte (see `strBytes`); anything else is decoded as UTF-8.
    if (ASCII.test(bytes)) return bytes;
    if (bytes.charCodeAt(0) === 0xff) return Buffer.from(bytes.slice(1), 'latin1').toString('utf16le');
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }

  epoch(): string {
    const known = this.byte();
    if (known > 0 && known < RAW_EPOCH) return this.epochs[known - 1]!;
    let value: string;
    if (known === RAW_EPOCH) {
      value = Buffer.from(this.blob.slice(this.at, this.at + 8), 'latin1').toString('base64url');
      this.at += 8;
    } else value = this.str();
    this.epochs.push(value);
    return value;
  }

  hash(digest: boolean): string {
    if (!digest) return this.str();
    const hex = Buffer.from(this.blob.slice(this.at, this.at + 32), 'latin1').toString('hex');
    this.at += 32;
    return hex;
  }

}

const ASCII = /^[\x00-\x7f]*$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Epoch marker: 8 raw bytes follow (below it, k > 0 names the k-th epoch written before). */
const RAW_EPOCH = 0xff;

function encode(id: string, packed: Packed): string {
  const w = new Writer();
  w.num(packed.createdAt);
  const prev = packed.prevTokenHash;
  w.byte(
    (prev !== undefined ? PREV : 0) |
      (packed.ownEpoch !== undefined ? OWN_EPOCH : 0) |
      (isDigest(packed.tokenHash) ? 0 : TOKEN_TEXT) |
      (prev !== undefined && !isDigest(prev) ? PREV_TEXT : 0),
  );
  w.hash(packed.tokenHash);
  if (prev !== undefined) w.hash(prev);
  if (packed.ownEpoch !== undefined) w.epoch(packed.ownEpoch);
  const rooms = Object.keys(packed.rooms);
  w.uint(rooms.length);
  for (const room of rooms) {
    const { epoch, offset } = packed.rooms[room]!;
    w.str(room);
    w.epoch(epoch);
    w.num(offset);
  }
  const own = sessionStream(id);
  const roomIndex = new Map(rooms.map((room, i) => [roomStream(room), i]));
  const streams = Object.keys(packed.positions);
  w.uint(streams.length);
  for (const stream of streams) {
    const { epoch, offset } = packed.positions[stream]!;
    const room = roomIndex.get(stream);
    if (stream === own) w.byte(OWN_STREAM);
    else if (room !== undefined) {
      w.byte(ROOM_STREAM);
      w.uint(room);
    } else {
      w.byte(NAMED_STREAM);
      w.str(stream);
    }
    w.epoch(epoch);
    w.num(offset);
  }
  return w.buf.toString('latin1', 0, w.at);
}

function decode(id: string, blob: string): Packed {
  const r = new Reader(blob);
  const createdAt = r.num();
  const flags = r.byte();
  const tokenHash = r.hash((flags & TOKEN_TEXT) === 0);
  const prevTokenHash = flags & PREV ? r.hash((flags & PREV_TEXT) === 0) : undefined;
  const ownEpoch = flags & OWN_EPOCH ? r.epoch() : undefined;
  const rooms: Record<string, Position> = {};
  const names: string[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const room = r.str();
    names.push(room);
    setOwn(rooms, room, { epoch: r.epoch(), offset: r.num() });
  }
  const positions: Positions = {};
  for (let n = r.uint(); n > 0; n--) {
    const kind = r.byte();
    const stream = kind === OWN_STREAM ? sessionStream(id) : kind === ROOM_STREAM ? roomStream(names[r.uint()]!) : r.str();
    setOwn(positions, stream, { epoch: r.epoch(), offset: r.num() });
  }
  return { createdAt, tokenHash, prevTokenHash, ownEpoch, rooms, positions };
}

/** `target[key] = value` as an own property, even for the key `__proto__`. */
function setOwn(target: Record<string, Position>, key: string, value: Position): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Whether `value` is well-formed UTF-16 (no lone surrogate): only those survive UTF-8. */
function wellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The bytes (one per character) `Writer.str` stores for `value`: its UTF-8, or — for a string
 * with a lone surrogate, which UTF-8 would turn into U+FFFD — a 0xFF byte (never part of UTF-8)
 * and its UTF-16 code units, so every string comes back exactly as it went in.
 */
function strBytes(value: string): string {
  return wellFormed(value) ? Buffer.from(value, 'utf8').toString('latin1') : `\xff${Buffer.from(value, 'utf16le').toString('latin1')}`;
}
