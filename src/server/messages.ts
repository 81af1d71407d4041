/**
 * `MESSAGE`: to a room, to a session's direct stream, or to the server's `onMessage` hook. The
 * `ACK` goes out only after the store holds the message (or the hook resolved).
 */
import { roomStream, sessionStream } from '../protocol/index.js';
import type { MessageFrame } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { errorMessage } from './hub.js';
import { proceed, refuse } from './acks.js';

/** Handle a `MESSAGE` frame of an open connection. */
export async function handleMessage(hub: Hub, conn: Connection, frame: MessageFrame): Promise<void> {
  const session = conn.session!;
  let stream: string;
  if (frame.room !== undefined) {
    if (!session.rooms.has(frame.room)) {
      await refuse(hub, conn, frame.seq, 'ERR_NOT_IN_ROOM', `not a member of room ${frame.room}`);
      return;
    }
    stream = roomStream(frame.room);
  } else if (frame.to !== undefined) {
    if (frame.to !== session.id && !(await hub.store.getSession(frame.to))) {
      await refuse(hub, conn, frame.seq, 'ERR_UNKNOWN_TARGET', 'no such session');
      return;
    }
    stream = sessionStream(frame.to);
  } else {
    await toHook(hub, conn, frame);
    return;
  }
  // A room message of a client that takes folded ACKs: its own copy may carry the ACK.
  const fold = frame.room !== undefined && conn.foldsAcks;
  if (fold) conn.folding = { stream, id: frame.id };
  try {
    const result = await hub.store.append(
      stream,
      { id: frame.id, from: session.id, user: session.user, data: frame.data },
      frame.room === undefined ? hub.options.outboxRetention : hub.options.retention,
      { sessionId: session.id, seq: frame.seq },
    );
    if (fold) conn.folding = undefined;
    if (!proceed(conn, frame.seq, result) || result.status !== 'appended') return;
    hub.metrics.messagesIn.inc();
    if (fold && hub.delivery.sendOwn(conn, result.entry, frame.seq)) return;
    conn.send({ type: 'ACK', seq: frame.seq, offset: result.entry.offset });
  } finally {
    if (fold) {
      conn.folding = undefined;
      // A copy still held (the append failed, or was refused): it goes out as it is.
      conn.flushOwn();
    }
  }
}

async function toHook(hub: Hub, conn: Connection, frame: MessageFrame): Promise<void> {
  // Consume the seq first: the hook runs at most once per message, even if it throws.
  const result = await hub.store.advanceSeq(conn.sessionId, frame.seq);
  if (!proceed(conn, frame.seq, result)) return;
  hub.metrics.messagesIn.inc();
  try {
    await hub.options.onMessage?.(conn, frame.data, frame.id);
  } catch (err) {
    hub.options.logger.error({ sessionId: conn.sessionId, seq: frame.seq, err: errorMessage(err) }, 'onMessage hook threw');
    const message = 'the server failed to handle the message';
    // Reported as an ERROR, and as the ACK's error: the seq was consumed, so the client must
    // settle the operation rather than re-send it.
    conn.sendError('ERR_INTERNAL', message, { seq: frame.seq });
    conn.send({ type: 'ACK', seq: frame.seq, error: { code: 'ERR_INTERNAL', message } });
    return;
  }
  conn.send({ type: 'ACK', seq: frame.seq });
}
