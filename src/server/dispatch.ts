/**
 * Routes the frames of an open connection to their handlers.
 */
import type { AuthFrame, ClientFrame, PositionAckFrame, ResyncFrame } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { authenticate, isRefusal } from './handshake.js';
import { handleMessage } from './messages.js';
import { handleJoin, handleLeave } from './rooms/membership.js';

/** ms between batched writes of acknowledged positions. */
const POSITION_FLUSH_MS = 500;
/** Positions of a `POSITION_ACK` for streams this connection receives; others are ignored. */
const positionsFor = (conn: Connection, frame: PositionAckFrame) =>
  Object.entries(frame.positions).filter(([stream]) => conn.cursors.has(stream));

/** Handle one frame after the handshake. Errors propagate to the caller's guard. */
export async function dispatch(hub: Hub, conn: Connection, frame: ClientFrame): Promise<void> {
  switch (frame.type) {
    case 'HELLO':
    case 'RECONNECT':
      conn.fail('ERR_PROTOCOL', 'the handshake was already done on this connection');
      return;
    case 'MESSAGE':
      return handleMessage(hub, conn, frame);
    case 'JOIN_ROOM':
      return handleJoin(hub, conn, frame);
    case 'LEAVE_ROOM':
      return handleLeave(hub, conn, frame);
    case 'POSITION_ACK':
      acceptPositions(hub, conn, frame);
      return;
    case 'RESYNC':
      return resync(hub, conn, frame);
    case 'AUTH':
      return reauthenticate(hub, conn, frame);
    case 'PING':
      conn.send({ type: 'PONG', t: frame.t });
      return;
    case 'BYE':
      return bye(hub, conn);
    case 'STATE_ACK':
    case 'STATE_RESYNC':
    case 'STATE_EVENT':
      return hub.state.onFrame(conn, frame);
  }
}

function acceptPositions(hub: Hub, conn: Connection, frame: PositionAckFrame): void {
  const session = conn.session!;
  for (const [stream, position] of positionsFor(conn, frame)) {
    const known = session.positions[stream];
    if (known && known.epoch === position.epoch && known.offset >= position.offset) continue;
    session.positions[stream] = { epoch: position.epoch, offset: position.offset };
    session.positionsDirty = true;
  }
  if (session.positionsDirty && !conn.positionTimer) {
    conn.positionTimer = setTimeout(() => {
      conn.positionTimer = undefined;
      void conn.enqueue(() => flushPositions(hub, conn)).catch((err: unknown) => {
        hub.options.logger.warn({ sessionId: session.id, err: String(err) }, 'could not store positions');
      });
    }, POSITION_FLUSH_MS);
  }
}

/** Write acknowledged positions to the store if they changed. */
export async function flushPositions(hub: Hub, conn: Connection): Promise<void> {
  const session = conn.session;
  if (!session || !session.positionsDirty || session.ended) return;
  session.positionsDirty = false;
  await hub.store.updateSession(session.id, { positions: { ...session.positions } });
}

async function resync(hub: Hub, conn: Connection, frame: ResyncFrame): Promise<void> {
  const cursor = conn.cursors.get(frame.stream);
  if (!cursor) {
    conn.sendError('ERR_FORBIDDEN', 'RESYNC names a stream this session does not receive', { stream: frame.stream });
    return;
  }
  const info = await hub.store.info(frame.stream);
  if (info.epoch !== frame.epoch) {
    conn.sendError('ERR_HISTORY_GAP', `history of ${frame.stream} no longer covers offset ${frame.from}`, { stream: frame.stream });
    return;
  }
  // Past retention, what history still holds is sent anyway, before the gap is reported: the
  // client buffers it and, on the error, skips only to the first offset it has, so the gap it
  // reports ends where history starts instead of where live delivery resumed.
  const trimmed = info.firstOffset > frame.from;
  // Live delivery covers everything above the cursor; resend up to it.
  const result = await hub.delivery.replay(conn, frame.stream, (trimmed ? info.firstOffset : frame.from) - 1, cursor.lastOffset, true);
  hub.metrics.replayed.inc(result.replayed);
  if (trimmed || result.gapFrom !== undefined) {
    conn.sendError('ERR_HISTORY_GAP', `history of ${frame.stream} no longer covers offset ${trimmed ? frame.from : result.gapFrom}`, { stream: frame.stream });
  }
}

async function reauthenticate(hub: Hub, conn: Connection, frame: AuthFrame): Promise<void> {
  const session = conn.session!;
  let user: string | null;
  try {
    user = await authenticate(hub, conn.request, frame.auth);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    conn.sendError('ERR_UNAUTHORIZED', 'authentication refused', { ref: frame.ref, fatal: true });
    conn.close(4001, 'ERR_UNAUTHORIZED');
    return;
  }
  if (session.user !== null && user !== session.user) {
    conn.sendError('ERR_FORBIDDEN', 'a session cannot switch to another user', { ref: frame.ref });
    return;
  }
  if (session.user === null && user !== null) {
    const bound = user;
    // Binding an anonymous session to a user gives the user one more session: the same limit as
    // a HELLO, counted under the same per-user lock.
    const limit = hub.options.maxSessionsPerUser;
    const refused = await hub.sessions.exclusive(`user:${bound}`, async () => {
      if (limit > 0 && hub.store.countUserSessions && (await hub.store.countUserSessions(bound)) >= limit) return true;
      await hub.store.updateSession(session.id, { user: bound });
      session.user = bound;
      return false;
    });
    if (refused) {
      conn.sendError('ERR_SESSION_LIMIT', `at most ${limit} sessions per user`, { ref: frame.ref });
      return;
    }
  }
  conn.send({ type: 'AUTH_OK', ref: frame.ref, user: session.user });
}

async function bye(hub: Hub, conn: Connection): Promise<void> {
  const session = conn.session!;
  const record = await hub.store.getSession(session.id);
  session.ended = true;
  await hub.sessions.end(session.id, record, 'bye');
  hub.options.logger.debug({ sessionId: session.id }, 'session ended by the client');
  conn.close(1000, 'bye');
}
