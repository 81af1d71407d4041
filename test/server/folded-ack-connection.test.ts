/**
 * The ordering rules of a folded ACK on one connection (docs/protocol.md, "Folded
 * acknowledgements"), driven directly: a held own copy never lets another frame overtake it, a
 * held copy that is not the append's entry goes out as it is, and only the next offset due on
 * an open gate is folded. The real-server tests (folded-acks.test.ts) cover the same end to end.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { Connection, toFrame } from '../../src/server/connection.js';
import { SharedFrame } from '../../src/server/rooms/shared-frame.js';
import { WriteBatch } from '../../src/server/rooms/write-batch.js';
import type { StreamEntry } from '../../src/server/stores/store.js';
import { encodeFrame } from '../../src/protocol/index.js';

function connection() {
  const sent: Array<Record<string, unknown>> = [];
  const ws = {
    readyState: 1,
    OPEN: 1,
    CLOSING: 2,
    CLOSED: 3,
    bufferedAmount: 0,
    extensions: '',
    send: (text: string) => sent.push(JSON.parse(text) as Record<string, unknown>),
    close: () => undefined,
  };
  const observer = { sent: () => undefined, delivered: () => undefined, handshakeSettled: () => undefined, slowConsumer: () => undefined };
  const conn = new Connection('c1', 'i1', ws as unknown as WebSocket, {} as IncomingMessage, observer, 1 << 20);
  conn.session = { id: 's1', user: null, rooms: new Map(), positions: {}, positionsDirty: false, ended: false };
  conn.cursors.set('room:r', { epoch: 'e1', lastOffset: 0, gated: false, overflowed: false, buffer: [] });
  return { conn, sent, batch: new WriteBatch() };
}

const entry = (offset: number, id: string, from = 's1'): StreamEntry => ({ stream: 'room:r', epoch: 'e1', offset, id, from, user: null, data: offset, ts: 1 });
const frameOf = (e: StreamEntry) => new SharedFrame(() => encodeFrame(toFrame(e, false)));
const summary = (sent: Array<Record<string, unknown>>) => sent.map((f) => [f.type, f.offset ?? null, f.ack ?? null]);

describe('folded ACK on one connection', () => {
  it('a held copy goes out folded when the append returns', () => {
    const { conn, sent, batch } = connection();
    const e1 = entry(1, 'x');
    conn.cursors.get('room:r')!.lastOffset = 1; // the fan-out advanced the cursor and held the copy
    conn.holdOwn(frameOf(e1), e1, batch);
    expect(sent).toEqual([]);
    expect(conn.sendOwn(e1, 7, batch, frameOf)).toBe(true);
    expect(summary(sent)).toEqual([['NEW_MESSAGE', 1, 7]]);
  });

  it('any other frame first sends the held copy as it is, ahead of it; then no fold', () => {
    const { conn, sent, batch } = connection();
    const e1 = entry(1, 'x');
    conn.cursors.get('room:r')!.lastOffset = 1;
    conn.holdOwn(frameOf(e1), e1, batch);
    const e2 = entry(2, 'y', 's2');
    conn.cursors.get('room:r')!.lastOffset = 2;
    conn.sendShared(frameOf(e2), batch);
    conn.send({ type: 'PONG', t: 1 });
    expect(conn.sendOwn(e1, 7, batch, frameOf)).toBe(false);
    expect(summary(sent)).toEqual([['NEW_MESSAGE', 1, null], ['NEW_MESSAGE', 2, null], ['PONG', null, null]]);
  });

  it('a held copy of another entry with the same id goes out as it is; the append\'s own entry is folded if next due', () => {
    const { conn, sent, batch } = connection();
    const stale = entry(1, 'x');
    conn.cursors.get('room:r')!.lastOffset = 1;
    conn.holdOwn(frameOf(stale), stale, batch);
    expect(conn.sendOwn(entry(2, 'x'), 8, batch, frameOf)).toBe(true);
    expect(summary(sent)).toEqual([['NEW_MESSAGE', 1, null], ['NEW_MESSAGE', 2, 8]]);
    expect(conn.cursors.get('room:r')!.lastOffset).toBe(2);
  });

  it('not held: folded only when it is the next offset due on an open gate', () => {
    const { conn, sent, batch } = connection();
    const cursor = conn.cursors.get('room:r')!;
    // a gap before it: entries 1.. are still on their way to this connection
    expect(conn.sendOwn(entry(3, 'x'), 1, batch, frameOf)).toBe(false);
    // gated (a replay or join in progress)
    cursor.lastOffset = 2;
    cursor.gated = true;
    expect(conn.sendOwn(entry(3, 'x'), 1, batch, frameOf)).toBe(false);
    // another epoch
    cursor.gated = false;
    expect(conn.sendOwn({ ...entry(3, 'x'), epoch: 'e2' }, 1, batch, frameOf)).toBe(false);
    expect(sent).toEqual([]);
    // next due: folded, and the cursor moves so the later fan-out drops it
    expect(conn.sendOwn(entry(3, 'x'), 1, batch, frameOf)).toBe(true);
    expect(summary(sent)).toEqual([['NEW_MESSAGE', 3, 1]]);
    expect(cursor.lastOffset).toBe(3);
  });

  it('the folded copy is the shared text with the ack appended, nothing re-encoded', () => {
    const { conn, sent, batch } = connection();
    const e1 = entry(1, 'x');
    const shared = frameOf(e1);
    conn.cursors.get('room:r')!.lastOffset = 1;
    conn.holdOwn(shared, e1, batch);
    conn.sendOwn(e1, 3, batch, frameOf);
    const { ack, ...rest } = sent[0]!;
    expect(ack).toBe(3);
    expect(rest).toEqual(JSON.parse(shared.text));
  });
});
