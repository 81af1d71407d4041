/**
 * The handshake: `HELLO` starts a session, `RECONNECT` resumes one (token check, rotation,
 * takeover, replay of every stream after the client's positions, then `REPLAY_DONE`).
 */
import type { IncomingMessage } from 'node:http';
import { PROTOCOL_VERSION, roomStream, sessionStream } from '../protocol/index.js';
import type {
  HelloFrame,
  Json,
  NewSessionReason,
  Position,
  ReconnectFrame,
  RoomPosition,
  StreamGap,
} from '../protocol/index.js';
import type { SessionRecord, StreamInfo } from './stores/store.js';
import type { Connection, LocalSession } from './connection.js';
import type { Hub } from './hub.js';
import { errorMessage } from './hub.js';
import { hashToken, newResumeToken, newSessionId, resumeTokenMatches } from './sessions.js';

/** Thrown (internally) when `authenticate` refuses. */
class Refused extends Error {}

/** Run the `authenticate` hook: a user id or null; throws `Refused` when it refuses or throws. */
export async function authenticate(hub: Hub, request: IncomingMessage, credentials: Json | undefined): Promise<string | null> {
  const hook = hub.options.authenticate;
  if (!hook) return null;
  let result: string | null | false;
  try {
    result = await hook({ request, credentials });
  } catch (err) {
    throw new Refused(errorMessage(err));
  }
  if (result === false || (result !== null && typeof result !== 'string')) throw new Refused('refused');
  return result;
}

/** Whether an error is an `authenticate` refusal. */
export function isRefusal(err: unknown): boolean {
  return err instanceof Refused;
}

/** Handle the first frame of a connection. Store failures propagate to the caller (close 4005). */
export async function handleHandshake(hub: Hub, conn: Connection, frame: HelloFrame | ReconnectFrame): Promise<void> {
  const started = process.hrtime.bigint();
  if (frame.v !== PROTOCOL_VERSION) {
    conn.fail('ERR_UNSUPPORTED_VERSION', `this server speaks protocol version ${PROTOCOL_VERSION}`);
    return;
  }
  let user: string | null;
  try {
    user = await authenticate(hub, conn.request, frame.auth);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    hub.options.logger.info({ connection: conn.id }, 'authentication refused');
    conn.fail('ERR_UNAUTHORIZED', 'authentication refused');
    return;
  }
  if (conn.phase !== 'handshake') return;
  // Synced state goes only to clients that asked for it: a client without a state layer would
  // never acknowledge it, and the feed would retransmit full values to it forever.
  conn.followsState = frame.state !== undefined;
  // Folded ACKs only for a client that asked: an older one would not settle its send() without the ACK.
  conn.foldsAcks = frame.foldAcks === true;
  if (frame.type === 'RECONNECT') {
    hub.metrics.reconnects.inc();
    // Only the token check, rotation, attach and re-read run under the session's lock: a replay
    // paced by a slow reader must not hold up the next resume of the session (which takes over).
    const outcome = await hub.sessions.exclusive(frame.sessionId, () => resume(hub, conn, frame, user));
    if (typeof outcome === 'object') {
      await recover(hub, conn, frame, outcome, started);
      return;
    }
    const reason = outcome;
    // Streams watched beside a resume that then failed belong to that session, not the new one.
    await hub.delivery.unwatchAll(conn);
    if (reason === 'limited' || reason === 'gone') return;
    hub.metrics.recoveries.inc({ result: 'new_session' });
    await startSession(hub, conn, user, frame.rooms ?? [], reason);
  } else {
    await startSession(hub, conn, user, frame.rooms ?? [], undefined);
  }
  observe(hub, 'hello', started);
}

function observe(hub: Hub, kind: string, started: bigint): void {
  hub.metrics.handshakes.inc({ kind });
  hub.metrics.handshakeSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
}

function localSession(id: string, user: string | null, rooms: Record<string, Position>, positions: Record<string, Position>): LocalSession {
  return { id, user, rooms: new Map(Object.entries(rooms)), positions: { ...positions }, positionsDirty: false, ended: false };
}

async function startSession(hub: Hub, conn: Connection, user: string | null, wanted: string[], reason: NewSessionReason | undefined): Promise<void> {
  const limit = hub.options.maxSessionsPerUser;
  if (user === null || limit === 0 || !hub.store.countUserSessions) return createSession(hub, conn, user, wanted, reason);
  // Count and create under one lock per user on this instance: two HELLOs of one user at once
  // must not both pass a count taken before either session existed. (Across instances the count
  // is still a separate read: see docs/security.md.) The key cannot be a session id (no ':').
  return hub.sessions.exclusive(`user:${user}`, () => createSession(hub, conn, user, wanted, reason, limit));
}

async function createSession(hub: Hub, conn: Connection, user: string | null, wanted: string[], reason: NewSessionReason | undefined, limit = 0): Promise<void> {
  if (user !== null && limit > 0 && (await hub.store.countUserSessions!(user)) >= limit) {
    hub.options.logger.info({ connection: conn.id, user }, 'session limit reached');
    conn.fail('ERR_SESSION_LIMIT', `at most ${limit} sessions per user`);
    return;
  }
  const id = newSessionId();
  const token = newResumeToken();
  const rooms = [...new Set(wanted)].slice(0, hub.options.maxRoomsPerSession);
  const streams = [sessionStream(id), ...rooms.map(roomStream)];
  // Subscribe before reading positions: nothing published after the join position is missed.
  await Promise.all(streams.map((stream) => hub.delivery.watch(conn, stream, undefined, 0)));
  const infos = await Promise.all(streams.map((s) => hub.store.info(s)));
  const joined: Record<string, Position> = {};
  const answerRooms: Record<string, RoomPosition> = {};
  streams.forEach((stream, i) => {
    const info = infos[i]!;
    setCursor(conn, stream, info.epoch, info.lastOffset);
    if (i > 0) {
      const room = rooms[i - 1]!;
      joined[room] = { epoch: info.epoch, offset: info.lastOffset };
      answerRooms[room] = { stream, epoch: info.epoch, offset: info.lastOffset };
    }
  });
  const direct = infos[0]!;
  const record: SessionRecord = {
    id,
    tokenHash: hashToken(token),
    user,
    rooms: joined,
    // Everything in the direct stream is for this session: recovery starts from its beginning.
    positions: { [sessionStream(id)]: { epoch: direct.epoch, offset: direct.lastOffset } },
    lastSeq: 0,
    createdAt: Date.now(),
    owner: conn.owner,
    expiresAt: null,
  };
  await hub.store.createSession(record);
  conn.session = localSession(id, user, joined, record.positions);
  hub.sessions.attach(conn);
  conn.send({
    type: 'NEW_SESSION',
    v: PROTOCOL_VERSION,
    sessionId: id,
    resumeToken: token,
    user,
    rooms: answerRooms,
    heartbeat: heartbeat(hub),
    limits: limits(hub),
    recovered: false,
    ...(reason ? { reason } : {}),
  });
  for (const stream of streams) await hub.delivery.release(conn, stream);
  conn.markOpen();
  hub.options.logger.debug({ connection: conn.id, sessionId: id, user, reason }, 'session started');
  for (const room of rooms) await hub.state.onJoin(conn, room);
  await hub.state.onHandshake(conn, {});
}

/** A session `resume` attached to the connection, for `recover` to answer and replay. */
interface Resumed {
  /** The rotated token, sent in `STATE_RECOVERED`. */
  token: string;
  user: string | null;
  /** The session as read after the attach. */
  record: SessionRecord;
  takeover: boolean;
  /** The credentials named a user past `maxSessionsPerUser`: resumed anonymous instead. */
  bindingRefused: boolean;
  /** The session's streams as the first read named them, watched and read beside the attach. */
  early?: Early;
}

/** Streams watched, then their bounds read, while the resume's attach is under way. */
interface Early {
  streams: string[];
  infos: Promise<StreamInfo[]>;
}

/**
 * Watch the streams of `session` (as its first read gave them) and read their bounds, without
 * waiting: the reads leave with the attach in one write to the store, so `recover` has its bounds
 * one round trip sooner. Watching first keeps the rule that nothing published after the bounds is
 * missed; the gates stay closed, so nothing reaches the connection before its session is attached.
 */
function watchEarly(hub: Hub, conn: Connection, session: SessionRecord): Early {
  const streams = [...Object.keys(session.rooms).map(roomStream), sessionStream(session.id)];
  const infos = Promise.all(streams.map((stream) => hub.delivery.watch(conn, stream, undefined, 0))).then(() => Promise.all(streams.map((s) => hub.store.info(s))));
  // Awaited by `recover`; a resume that fails before then drops it.
  infos.catch(() => {});
  return { streams, infos };
}

/** Check, rotate and attach the session named by `frame`; the reason it cannot be resumed, or the attached session. */
async function resume(hub: Hub, conn: Connection, frame: ReconnectFrame, user: string | null): Promise<NewSessionReason | 'limited' | 'gone' | Resumed> {
  const address = conn.request.socket.remoteAddress ?? 'unknown';
  // The store check below runs beside the first read (one round trip less per resume); its
  // failure only counts once the token is found right, where it is awaited.
  const reachable = hub.store.ping();
  reachable.catch(() => {});
  const session = await hub.store.getSession(frame.sessionId);
  if (!session) return (await hub.store.wasExpired?.(frame.sessionId)) === true ? 'expired' : 'unknown';
  if (!resumeTokenMatches(frame.resumeToken, session)) {
    // Only wrong tokens are limited: a client that presents its right token is never refused
    // because others behind the same address (a NAT, a proxy) guessed. The guesser is cut with
    // 4003 instead of getting a fresh session to guess again from.
    if (hub.resumeGuard.blocked(address)) {
      hub.options.logger.warn({ connection: conn.id, address }, 'too many failed resumes');
      conn.fail('ERR_RESUME_RATE_LIMITED', 'too many failed resume attempts; retry later');
      return 'limited';
    }
    hub.resumeGuard.failed(address);
    hub.options.logger.warn({ connection: conn.id, sessionId: session.id, address }, 'resume token rejected');
    return 'token_rejected';
  }
  if (session.user !== null && session.user !== user) return 'user_mismatch';
  const limit = hub.options.maxSessionsPerUser;
  if (session.user === null && user !== null && limit > 0 && hub.store.countUserSessions) {
    // Credentials at the resume of an anonymous session bind it to that user: the limit of a
    // HELLO or an AUTH, under the same per-user lock; past it the session resumes anonymous.
    const bindTo = user;
    return hub.sessions.exclusive(`user:${bindTo}`, async () => {
      const over = (await hub.store.countUserSessions!(bindTo)) >= limit;
      return rotateAndAttach(hub, conn, frame, session, over ? null : bindTo, reachable, over);
    });
  }
  return rotateAndAttach(hub, conn, frame, session, session.user ?? user, reachable, false);
}

/** The second half of `resume`: rotate the token and attach the session (checked) to `conn`. */
async function rotateAndAttach(
  hub: Hub,
  conn: Connection,
  frame: ReconnectFrame,
  session: SessionRecord,
  boundUser: string | null,
  reachable: Promise<void>,
  bindingRefused: boolean,
): Promise<NewSessionReason | 'gone' | Resumed> {
  // A store coming back from an outage may answer commands before it can subscribe (Redis: the
  // command connection reconnects before the subscriber). Check the whole store before rotating,
  // so such a resume fails early with ERR_STORE_UNAVAILABLE instead of after a wasted rotation.
  await reachable;
  // A connection that closed while this handshake waited on the store (the client gave up on it
  // and is reconnecting elsewhere) must not attach: it would take the session over from the
  // client's live connection, which would then stop with ERR_SESSION_TAKEN_OVER.
  if (closedMeanwhile(conn)) return 'gone';
  const token = newResumeToken();
  const tokenHash = hashToken(token);
  // The presented token stays valid until the new one is used: a client that dies before it
  // stored the new token resumes with this one instead of losing its session (and re-sending its
  // queue under a new one). Every other earlier token, including one issued but never used, dies.
  const prevTokenHash = hashToken(frame.resumeToken);
  const rotation = { tokenHash, prevTokenHash, user: boundUser };
  let previous: string | null | undefined;
  let current: SessionRecord | null = null;
  let early: Early | undefined;
  if (hub.store.resumeSession) {
    early = watchEarly(hub, conn, session);
    // Rotation, attach and the read of the session as attached: one atomic store call.
    // Only if the presented token is still valid: a resume elsewhere may have retired it since
    // the check above (it held the newer token), and must then keep the session.
    const resumed = await hub.store.resumeSession(session.id, rotation, conn.owner, prevTokenHash);
    if (resumed === undefined) return (await hub.store.getSession(session.id)) !== null ? 'token_rejected' : 'unknown';
    ({ previous, record: current } = resumed);
  } else {
    // Rotate before attaching.
    if (!(await hub.store.updateSession(session.id, rotation))) return 'unknown';
    // Checked again after the rotation's round trip (the presented token still works: nothing lost).
    if (closedMeanwhile(conn)) return 'gone';
    previous = await hub.store.attachSession(session.id, conn.owner);
    if (previous === undefined) return 'unknown';
  }
  if (previous !== null && previous !== conn.owner) {
    hub.sessions.get(session.id)?.fail('ERR_SESSION_TAKEN_OVER', 'another connection resumed this session');
  }
  // Held from here on: if anything below fails, closing this connection detaches the session.
  conn.session = localSession(session.id, boundUser, (current ?? session).rooms, (current ?? session).positions);
  hub.sessions.attach(conn);
  if (previous !== null && previous !== conn.owner) {
    await hub.store.publishControl({ kind: 'takeover', sessionId: session.id, owner: previous });
  }
  if (current === null) {
    // A racing resume on another instance rotated (and attached) before our attach, so its
    // rotation may have overwritten ours; nobody attached earlier can write after this point.
    // The re-read also picks up what the previous connection changed since the first read.
    current = await hub.store.getSession(session.id);
    if (!current) {
      hub.sessions.release(conn, null);
      conn.session = null;
      return 'unknown';
    }
    if (current.tokenHash !== tokenHash || current.prevTokenHash !== prevTokenHash) await hub.store.updateSession(session.id, { tokenHash, prevTokenHash });
  }
  conn.session = localSession(session.id, boundUser, current.rooms, current.positions);
  return { token, user: boundUser, record: current, takeover: previous !== null, bindingRefused, ...(early ? { early } : {}) };
}

/**
 * Answer a resume with `STATE_RECOVERED`, then replay every stream after the client's position.
 * The handshake is settled once answered: its timeout does not cover a replay that flows at the
 * reader's pace (backpressure bounds that instead).
 */
async function recover(hub: Hub, conn: Connection, frame: ReconnectFrame, resumed: Resumed, started: bigint): Promise<void> {
  const { token, user: boundUser, record: current } = resumed;
  const session = current;
  const roomNames = Object.keys(current.rooms);
  const streams = [...roomNames.map(roomStream), sessionStream(session.id)];
  const early = resumed.early;
  let infos: StreamInfo[];
  if (early !== undefined && early.streams.length === streams.length && early.streams.every((s, i) => s === streams[i])) {
    infos = await early.infos;
  } else {
    // The rooms changed between the first read and the attach (another connection of the
    // session joined or left meanwhile): watch and read what the session holds now.
    if (early !== undefined) {
      await early.infos.catch(() => {});
      // A failed unsubscribe is cleanup, not a reason to fail the attached resume.
      for (const stream of early.streams) if (!streams.includes(stream)) await hub.delivery.unwatch(conn, stream).catch(() => {});
    }
    await Promise.all(streams.map((stream) => hub.delivery.watch(conn, stream, undefined, 0)));
    infos = await Promise.all(streams.map((s) => hub.store.info(s)));
  }
  const gaps: StreamGap[] = [];
  const plan: Array<{ stream: string; after: number; info: StreamInfo }> = [];
  const answerRooms: Record<string, RoomPosition> = {};
  streams.forEach((stream, i) => {
    const info = infos[i]!;
    const room = roomNames[i];
    if (room !== undefined) answerRooms[room] = { stream, epoch: info.epoch, offset: info.lastOffset };
    const from = startPosition(frame, current, stream, room);
    const decision = decide(stream, from, info);
    if (decision.gap) gaps.push(decision.gap);
    setCursor(conn, stream, info.epoch, decision.after);
    if (decision.after < info.lastOffset) plan.push({ stream, after: decision.after, info });
  });
  const first = gaps[0];
  // The answer, the replay and REPLAY_DONE leave in one write when the replay needs no store call.
  hub.delivery.hold(conn);
  conn.send({
    type: 'STATE_RECOVERED',
    v: PROTOCOL_VERSION,
    sessionId: session.id,
    resumeToken: token,
    user: boundUser,
    rooms: answerRooms,
    lastSeq: current.lastSeq,
    recovered: first === undefined,
    ...(first ? { reason: first.reason, gaps } : {}),
    heartbeat: heartbeat(hub),
    limits: limits(hub),
  });
  if (resumed.bindingRefused) conn.sendError('ERR_SESSION_LIMIT', `at most ${hub.options.maxSessionsPerUser} sessions per user: resumed without the user`);
  conn.markOpen();
  observe(hub, 'reconnect', started);
  // The gates stay closed until each stream's replay is done: live entries wait behind it.
  let replayed = 0;
  for (const { stream, after, info } of plan) {
    // The bounds just read (after watching) answer the first read: kept entries need no store call.
    const result = await hub.delivery.replay(conn, stream, after, undefined, false, info);
    replayed += result.replayed;
    // Trimmed between the bounds check and the read: say so rather than leave a silent hole.
    if (result.gapFrom !== undefined) conn.sendError('ERR_HISTORY_GAP', `history of ${stream} no longer covers offset ${result.gapFrom}`, { stream });
    replayed += await hub.delivery.release(conn, stream);
  }
  for (const stream of streams) replayed += await hub.delivery.release(conn, stream);
  conn.send({ type: 'REPLAY_DONE', replayed });
  hub.metrics.replayed.inc(replayed);
  hub.metrics.recoveries.inc({ result: first === undefined ? 'recovered' : 'gap' });
  hub.options.logger.debug({ connection: conn.id, sessionId: session.id, replayed, gaps: gaps.length, takeover: resumed.takeover }, 'session resumed');
  await hub.state.onHandshake(conn, frame.state ?? {});
}

/** Whether the connection closed (a function, so the check is not narrowed away across awaits). */
function closedMeanwhile(conn: Connection): boolean {
  return conn.phase === 'closed';
}

/**
 * Where recovery of `stream` starts: the client's position, else the one it acknowledged, else
 * the join position (a client that received nothing before the drop still gets everything).
 */
function startPosition(frame: ReconnectFrame, session: SessionRecord, stream: string, room: string | undefined): Position | undefined {
  return frame.positions[stream] ?? session.positions[stream] ?? (room !== undefined ? session.rooms[room] : undefined);
}

/** What to replay of a stream from position `from`, and the gap when history cannot cover it. */
function decide(stream: string, from: Position | undefined, info: StreamInfo): { after: number; gap?: StreamGap } {
  // Past a history gap, what is still retained is replayed: only `from..firstOffset-1` is lost.
  if (from === undefined) return { after: 0, ...(info.firstOffset > 1 ? { gap: { stream, reason: 'history_gap', from: 1, to: info.firstOffset - 1 } } : {}) };
  // Another epoch: the stream was recreated (forgotten as idle, or its store lost it). What the
  // old epoch held past the client's position cannot be told; everything the new epoch still
  // holds is new to this client and is replayed. `from` counts in the old epoch, `to` in the new.
  if (from.epoch !== info.epoch) {
    return { after: info.firstOffset - 1, gap: { stream, reason: 'epoch_changed', from: from.offset + 1, to: info.firstOffset - 1 } };
  }
  if (from.offset >= info.lastOffset) return { after: info.lastOffset };
  if (info.firstOffset > from.offset + 1) {
    return { after: info.firstOffset - 1, gap: { stream, reason: 'history_gap', from: from.offset + 1, to: info.firstOffset - 1 } };
  }
  return { after: from.offset };
}

function setCursor(conn: Connection, stream: string, epoch: string, lastOffset: number): void {
  const cursor = conn.cursors.get(stream);
  if (!cursor) return;
  cursor.epoch = epoch;
  cursor.lastOffset = lastOffset;
}

function heartbeat(hub: Hub): { interval: number; timeout: number } {
  return { interval: hub.options.heartbeatInterval, timeout: hub.options.heartbeatTimeout };
}

function limits(hub: Hub): { maxPayload: number; maxRooms: number; maxRate: number } {
  return { maxPayload: hub.options.maxPayload, maxRooms: hub.options.maxRoomsPerSession, maxRate: hub.options.maxMessagesPerSecond };
}
