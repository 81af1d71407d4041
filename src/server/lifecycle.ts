/**
 * A connection from accept to close: decoding, the handshake gate, error containment, cleanup.
 */
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { decodeClientFrame } from '../protocol/index.js';
import type { ClientFrame } from '../protocol/index.js';
import { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { errorMessage, isStoreUnavailable } from './hub.js';
import { handleHandshake } from './handshake.js';
import { dispatch, flushPositions } from './dispatch.js';
import { TokenBucket } from './token-bucket.js';

let nextId = 0;

/** The guards below already report their failures; this keeps a broken logger from crashing the process. */
const ignore = (): void => {};

/** Take over a freshly upgraded socket. @internal */
export function acceptConnection(hub: Hub, ws: WebSocket, request: IncomingMessage): Connection {
  const conn = new Connection((++nextId).toString(36), hub.instanceId, ws, request, {
    sent(frame) {
      if (frame.type === 'NEW_MESSAGE') hub.metrics.messagesOut.inc();
      else if (frame.type === 'ERROR') hub.metrics.errors.inc({ code: frame.code });
    },
    delivered() {
      hub.metrics.messagesOut.inc();
    },
    handshakeSettled() {
      hub.pendingHandshakes--;
    },
    slowConsumer() {
      hub.metrics.errors.inc({ code: 'ERR_SLOW_CONSUMER' });
      hub.options.logger.info({ connection: conn.id, sessionId: conn.session?.id, bufferedAmount: ws.bufferedAmount }, 'slow consumer cut');
    },
  }, hub.options.maxBufferedBytes);
  hub.connections.set(conn.id, conn);
  hub.pendingHandshakes++;
  const origin = request.headers.origin;
  if (hub.options.allowedOrigins && origin !== undefined && !hub.options.allowedOrigins.has(origin)) {
    hub.options.logger.info({ connection: conn.id, origin }, 'origin rejected');
    conn.fail('ERR_ORIGIN_REJECTED', 'this origin is not allowed');
  } else if (hub.pendingHandshakes > hub.options.maxPendingHandshakes) {
    conn.fail('ERR_TOO_MANY_HANDSHAKES', 'too many handshakes in progress; retry later');
  }
  conn.handshakeTimer = setTimeout(() => {
    if (conn.phase === 'handshake') conn.fail('ERR_HANDSHAKE_TIMEOUT', `no handshake within ${hub.options.handshakeTimeout} ms`);
  }, hub.options.handshakeTimeout);
  ws.on('pong', () => {
    conn.alive = true;
  });
  const rate = hub.options.maxMessagesPerSecond > 0 ? new TokenBucket(hub.options.maxMessagesPerSecond, hub.options.maxMessageBurst) : undefined;
  let limited = false;
  ws.on('message', (data, isBinary) => {
    if (limited) return;
    if (rate !== undefined && conn.handshakeReceived && !rate.take()) {
      // Everything before this frame is processed as usual; this one and later ones are not
      // (the client re-sends what was not acknowledged after it reconnects).
      if (conn.phase === 'closed' || ws.readyState !== ws.OPEN) return;
      limited = true;
      hub.options.logger.info({ connection: conn.id, sessionId: conn.session?.id }, 'rate limit exceeded');
      // The cut waits for the frames queued before this one: they are processed and answered
      // while the socket is still open. Cut at once, they would be skipped (nothing is processed
      // once the close started) and a client whose queue arrives in one read — its whole flush
      // after a reconnect — would never get past its first `maxMessageBurst` frames.
      void conn.enqueue(async () => conn.fail('ERR_RATE_LIMITED', `more than ${hub.options.maxMessagesPerSecond} frames per second`)).catch(ignore);
      return;
    }
    onData(hub, conn, data, isBinary);
  });
  ws.on('error', (err: Error & { code?: string }) => {
    // ws closes the socket itself (1009 for an oversized frame, 1002 for a bad one).
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') hub.metrics.errors.inc({ code: 'ERR_FRAME_TOO_LARGE' });
    hub.options.logger.debug({ connection: conn.id, code: err.code, err: err.message }, 'websocket error');
  });
  ws.on('close', (code) => onClose(hub, conn, code));
  hub.options.logger.debug({ connection: conn.id, address: request.socket.remoteAddress }, 'connection opened');
  return conn;
}

function onData(hub: Hub, conn: Connection, data: RawData, isBinary: boolean): void {
  if (conn.phase === 'closed') return;
  if (isBinary) {
    conn.sendError('ERR_BINARY_NOT_SUPPORTED', 'binary frames are not supported: send JSON text');
    return;
  }
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as Buffer).toString('utf8');
  const decoded = decodeClientFrame(text);
  if (!decoded.ok) {
    if (conn.handshakeReceived) conn.sendError(decoded.code, decoded.message);
    else {
      // A connection that cannot even say hello is broken: tell it why and end it.
      conn.sendError(decoded.code, decoded.message, { fatal: true });
      conn.close(4000, decoded.code);
    }
    return;
  }
  const frame = decoded.frame;
  if (!conn.handshakeReceived) {
    if (frame.type !== 'HELLO' && frame.type !== 'RECONNECT') {
      conn.fail('ERR_NOT_READY', 'the first frame must be HELLO or RECONNECT');
      return;
    }
    conn.handshakeReceived = true;
    void conn.enqueue(() => guardHandshake(hub, conn, frame)).catch(ignore);
    return;
  }
  if (frame.type === 'PING' && conn.phase === 'open') {
    // Answered out of the queue so a slow store never looks like a dead connection.
    conn.send({ type: 'PONG', t: frame.t });
    return;
  }
  void conn.enqueue(() => guardFrame(hub, conn, frame)).catch(ignore);
}

async function guardHandshake(hub: Hub, conn: Connection, frame: ClientFrame & { type: 'HELLO' | 'RECONNECT' }): Promise<void> {
  try {
    await handleHandshake(hub, conn, frame);
  } catch (err) {
    // Any failure here leaves the client without a session: let it retry against a healthy store.
    hub.options.logger.warn({ connection: conn.id, err: errorMessage(err) }, 'handshake failed');
    conn.fail('ERR_STORE_UNAVAILABLE', 'the server could not complete the handshake; retry');
  }
}

async function guardFrame(hub: Hub, conn: Connection, frame: ClientFrame): Promise<void> {
  if (conn.phase !== 'open') return;
  // Once the close has started no answer can be sent: an operation processed now would be
  // re-sent after the reconnect, and become a duplicate if the session expires meanwhile.
  // Frames that expect no answer still count (BYE usually arrives just before the close).
  if (conn.ws.readyState !== conn.ws.OPEN && frame.type !== 'BYE' && frame.type !== 'POSITION_ACK') return;
  try {
    await dispatch(hub, conn, frame);
  } catch (err) {
    const seq = 'seq' in frame ? frame.seq : undefined;
    if (isStoreUnavailable(err)) {
      hub.options.logger.warn({ sessionId: conn.sessionId, type: frame.type, err: errorMessage(err) }, 'store unavailable');
      conn.sendError('ERR_STORE_UNAVAILABLE', 'the store is unavailable; nothing was accepted, retry', { seq, fatal: true });
      conn.close(4005, 'ERR_STORE_UNAVAILABLE');
      return;
    }
    hub.options.logger.error({ sessionId: conn.sessionId, type: frame.type, err: errorMessage(err) }, 'frame handler failed');
    if (seq === undefined) {
      conn.sendError('ERR_INTERNAL', `the server failed to handle ${frame.type}`);
      return;
    }
    // A sequenced operation left without an ACK would stay pending in the client's queue for
    // good. End the connection instead: the resume's lastSeq settles it if its seq was consumed,
    // otherwise the client re-sends it.
    conn.sendError('ERR_INTERNAL', `the server failed to handle ${frame.type}; reconnect`, { seq, fatal: true });
    conn.close(1011, 'ERR_INTERNAL');
  }
}

function onClose(hub: Hub, conn: Connection, code: number): void {
  const wasOpen = conn.phase === 'open';
  conn.phase = 'closed';
  conn.settleHandshake();
  clearTimeout(conn.positionTimer);
  conn.positionTimer = undefined;
  hub.connections.delete(conn.id);
  hub.options.logger.debug({ connection: conn.id, sessionId: conn.session?.id, code, wasOpen }, 'connection closed');
  // Queued behind a handshake still in progress, so a session it attaches is detached again.
  void conn.enqueue(() => cleanup(hub, conn)).catch(ignore);
}

async function cleanup(hub: Hub, conn: Connection): Promise<void> {
  await hub.delivery.unwatchAll(conn);
  const session = conn.session;
  if (!session || session.ended) return;
  try {
    await flushPositions(hub, conn);
  } catch (err) {
    hub.options.logger.warn({ sessionId: session.id, err: errorMessage(err) }, 'could not store positions on close');
  }
  try {
    const detached = await hub.store.detachSession(session.id, conn.owner, hub.options.sessionTtl);
    hub.sessions.release(conn, detached && hub.sessions.keepsRecords ? await hub.store.getSession(session.id) : null);
  } catch (err) {
    hub.sessions.release(conn, null);
    hub.options.logger.warn({ sessionId: session.id, err: errorMessage(err) }, 'could not detach session');
  }
  try {
    await hub.state.onClose(conn);
  } catch (err) {
    hub.options.logger.error({ sessionId: session.id, err: errorMessage(err) }, 'state service failed on close');
  }
}
