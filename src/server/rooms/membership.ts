/**
 * `JOIN_ROOM` and `LEAVE_ROOM`: sequenced operations that change the session's rooms through
 * `advanceSeq`, so a re-sent join or leave is processed once.
 */
import { roomStream } from '../../protocol/index.js';
import type { JoinRoomFrame, LeaveRoomFrame, Position } from '../../protocol/index.js';
import type { Connection } from '../connection.js';
import type { Hub } from '../hub.js';
import { proceed, refuse } from '../acks.js';
import { errorMessage, isStoreUnavailable } from '../hub.js';

/** Handle `JOIN_ROOM`: subscribe (gated), fix the join position, ack, replay `since`, go live. */
export async function handleJoin(hub: Hub, conn: Connection, frame: JoinRoomFrame): Promise<void> {
  const session = conn.session!;
  const { room, seq } = frame;
  const stream = roomStream(room);
  if (session.rooms.has(room)) {
    const result = await hub.store.advanceSeq(session.id, seq);
    if (result.status === 'out_of_order' || result.status === 'no_session') {
      proceed(conn, seq, result);
      return;
    }
    // Already a member (or a re-sent join): repeat this connection's position. Not the store's
    // latest offset: on a shared store that can be ahead of what pub/sub has delivered here, and
    // a client moving its position there would drop the entries still on their way.
    const info = await hub.store.info(stream);
    const cursor = conn.cursors.get(stream);
    const offset = cursor && cursor.epoch === info.epoch ? cursor.lastOffset : info.lastOffset;
    conn.send({ type: 'ROOM_JOINED_ACK', seq, room, stream, epoch: info.epoch, offset });
    return;
  }
  if (session.rooms.size >= hub.options.maxRoomsPerSession) {
    await refuse(hub, conn, seq, 'ERR_ROOM_LIMIT', `at most ${hub.options.maxRoomsPerSession} rooms per session`);
    return;
  }
  // Subscribe before reading the position: nothing published after it can be missed.
  await hub.delivery.watch(conn, stream, undefined, 0);
  let joined = false;
  try {
    const info = await hub.store.info(stream);
    let start: Position = { epoch: info.epoch, offset: info.lastOffset };
    let gap = false;
    const since = frame.since;
    if (since) {
      if (since.epoch === info.epoch && since.offset >= info.lastOffset) start = { epoch: info.epoch, offset: info.lastOffset };
      else if (since.epoch === info.epoch && info.firstOffset <= since.offset + 1) start = since;
      else {
        gap = true;
        // Replay as far as retention reaches: only what was trimmed is lost (the client reports
        // since + 1 up to the ack's offset as the gap). In another epoch (the stream was
        // recreated) everything the new epoch retains is new to the client: replayed too.
        start = { epoch: info.epoch, offset: Math.min(info.firstOffset - 1, info.lastOffset) };
      }
    }
    const rooms = Object.fromEntries(session.rooms);
    rooms[room] = start;
    const result = await hub.store.advanceSeq(session.id, seq, { rooms });
    if (!proceed(conn, seq, result)) return;
    joined = true;
    session.rooms.set(room, start);
    const cursor = conn.cursors.get(stream);
    if (cursor) {
      cursor.epoch = info.epoch;
      cursor.lastOffset = start.offset;
    }
    // `offset` is where the client's position starts: the `since` position when replaying.
    conn.send({ type: 'ROOM_JOINED_ACK', seq, room, stream, epoch: info.epoch, offset: start.offset });
    if (gap) conn.sendError('ERR_HISTORY_GAP', `history of ${stream} does not reach back to the requested position`, { stream });
    try {
      if (start.offset < info.lastOffset) {
        const replay = await hub.delivery.replay(conn, stream, start.offset);
        hub.metrics.replayed.inc(replay.replayed);
        if (replay.gapFrom !== undefined) conn.sendError('ERR_HISTORY_GAP', `history of ${stream} no longer covers offset ${replay.gapFrom}`, { stream });
      }
      hub.metrics.replayed.inc(await hub.delivery.release(conn, stream));
    } catch (err) {
      // The join is stored and acknowledged, the replay is not finished: end the connection so
      // the client resumes and the resume replays from its position (nothing skipped). A store
      // outage goes to the caller (4005).
      if (isStoreUnavailable(err)) throw err;
      hub.options.logger.error({ sessionId: session.id, stream, err: errorMessage(err) }, 'join replay failed');
      conn.fail('ERR_INTERNAL', `the replay of ${stream} failed; reconnect to recover it`);
      return;
    } finally {
      // Never leave the gate closed: live entries would be buffered for good.
      conn.release(stream);
    }
  } finally {
    if (!joined) await hub.delivery.unwatch(conn, stream);
  }
  await hub.state.onJoin(conn, room);
}

/** Handle `LEAVE_ROOM` (leaving a room the session is not in is acknowledged too). */
export async function handleLeave(hub: Hub, conn: Connection, frame: LeaveRoomFrame): Promise<void> {
  const session = conn.session!;
  const { room, seq } = frame;
  const stream = roomStream(room);
  const member = session.rooms.has(room);
  let update;
  if (member) {
    const rooms = Object.fromEntries(session.rooms);
    delete rooms[room];
    const positions = { ...session.positions };
    delete positions[stream];
    update = { rooms, positions };
  }
  const result = await hub.store.advanceSeq(session.id, seq, update);
  if (result.status === 'out_of_order' || result.status === 'no_session') {
    proceed(conn, seq, result);
    return;
  }
  if (result.status === 'ok' && member) {
    session.rooms.delete(room);
    delete session.positions[stream];
    await hub.delivery.unwatch(conn, stream);
  }
  conn.send({ type: 'ROOM_LEFT_ACK', seq, room });
  if (result.status === 'ok' && member) await hub.state.onLeave(conn, room);
}
