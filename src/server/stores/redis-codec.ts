/** How the Redis store lays records out in hashes and stream entries. */
import type { Json } from '../../protocol/index.js';
import type { SessionRecord, SessionUpdate, StreamEntry } from './store.js';

/**
 * Session hash fields. JSON for the structured ones; '' stands for null in `owner` and
 * `expiresAt` (Lua compares them as strings).
 *
 * @internal
 */
export function sessionFields(record: SessionRecord): string[] {
  return [
    'tokenHash', record.tokenHash,
    'user', JSON.stringify(record.user),
    'rooms', JSON.stringify(record.rooms),
    'positions', JSON.stringify(record.positions),
    'lastSeq', String(record.lastSeq),
    'createdAt', String(record.createdAt),
    'owner', record.owner ?? '',
    ...(record.prevTokenHash ? ['prevTokenHash', record.prevTokenHash] : []),
  ];
}

/** @internal The hash fields an update changes (possibly none). */
export function updateFields(update: SessionUpdate): string[] {
  const fields: string[] = [];
  if (update.tokenHash !== undefined) fields.push('tokenHash', update.tokenHash);
  if (update.prevTokenHash !== undefined) fields.push('prevTokenHash', update.prevTokenHash);
  if (update.user !== undefined) fields.push('user', JSON.stringify(update.user));
  if (update.rooms !== undefined) fields.push('rooms', JSON.stringify(update.rooms));
  if (update.positions !== undefined) fields.push('positions', JSON.stringify(update.positions));
  return fields;
}

/** @internal A session from its hash, or null when the hash is empty (no such key). */
export function parseSession(id: string, hash: Record<string, string>): SessionRecord | null {
  if (hash['lastSeq'] === undefined) return null;
  return {
    id,
    tokenHash: hash['tokenHash'] ?? '',
    user: JSON.parse(hash['user'] ?? 'null') as string | null,
    rooms: JSON.parse(hash['rooms'] ?? '{}') as SessionRecord['rooms'],
    positions: JSON.parse(hash['positions'] ?? '{}') as SessionRecord['positions'],
    lastSeq: Number(hash['lastSeq']),
    createdAt: Number(hash['createdAt'] ?? 0),
    owner: hash['owner'] ? hash['owner'] : null,
    expiresAt: hash['expiresAt'] ? Number(hash['expiresAt']) : null,
    ...(hash['prevTokenHash'] ? { prevTokenHash: hash['prevTokenHash'] } : {}),
  };
}

/** The part of an entry stored in field `b` (stream, epoch, offset and ts live elsewhere). */
interface EntryBody {
  id: string;
  from: string | null;
  user: string | null;
  data: Json;
}

/** @internal The JSON body stored with an entry. */
export function entryBody(body: EntryBody): string {
  return JSON.stringify({ id: body.id, from: body.from, user: body.user, data: body.data });
}

/** @internal An entry from its body and position. */
export function toEntry(stream: string, epoch: string, offset: number, ts: number, body: string): StreamEntry {
  const parsed = JSON.parse(body) as EntryBody;
  return { id: parsed.id, from: parsed.from, user: parsed.user, data: parsed.data, stream, epoch, offset, ts };
}

/** @internal An entry from an XRANGE row: `[id, ['t', ts, 'b', body]]`. */
export function rowToEntry(stream: string, epoch: string, row: [string, string[]]): StreamEntry {
  const [id, fields] = row;
  return toEntry(stream, epoch, Number.parseInt(id, 10), Number(fields[1]), fields[3] ?? 'null');
}

/** @internal An entry from a pub/sub message `epoch \n offset \n ts \n body`. */
export function messageToEntry(stream: string, message: string): StreamEntry | undefined {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  const c = message.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  return toEntry(stream, message.slice(0, a), Number(message.slice(a + 1, b)), Number(message.slice(b + 1, c)), message.slice(c + 1));
}
