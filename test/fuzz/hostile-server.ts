/**
 * A minimal protocol server for fuzzing the client: it answers handshakes, resumes its sessions,
 * acknowledges `MESSAGE`s exactly once per session (dedup by `seq`) and answers `PING`. Before
 * each acknowledgement it can send something hostile, chosen by the test.
 */
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { SUBPROTOCOL, decodeClientFrame, encodeFrame } from '../../src/protocol/index.js';
import type { ServerFrame } from '../../src/protocol/index.js';
import type { Payload } from './protocol-peer.js';

interface Session {
  token: string;
  lastSeq: number;
  /** Message ids processed, in order, once each. */
  ids: string[];
}

export class HostileServer {
  readonly sessions = new Map<string, Session>();
  /** Sent before the ACK of the next MESSAGE, then cleared. */
  next: Payload | undefined;
  /** How many hostile payloads were sent. */
  injected = 0;
  private readonly wss: WebSocketServer;

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => {
        if (!isBinary) this.onFrame(ws, String(data));
      });
    });
  }

  static async start(): Promise<HostileServer> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new HostileServer(wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private send(ws: WebSocket, frame: ServerFrame): void {
    ws.send(encodeFrame(frame));
  }

  private answer(ws: WebSocket, id: string, session: Session, resumed: boolean): void {
    session.token = randomBytes(16).toString('base64url');
    const common = {
      v: 1,
      sessionId: id,
      resumeToken: session.token,
      user: null,
      rooms: {},
      heartbeat: { interval: 60_000, timeout: 60_000 },
      limits: { maxPayload: 1 << 20, maxRooms: 100, maxRate: 100_000 },
    };
    if (resumed) {
      this.send(ws, { type: 'STATE_RECOVERED', ...common, lastSeq: session.lastSeq, recovered: true });
      this.send(ws, { type: 'REPLAY_DONE', replayed: 0 });
    } else this.send(ws, { type: 'NEW_SESSION', ...common, recovered: false });
  }

  private onFrame(ws: WebSocket, text: string): void {
    const decoded = decodeClientFrame(text);
    if (!decoded.ok) return;
    const frame = decoded.frame;
    const state = ws as WebSocket & { sessionId?: string };
    switch (frame.type) {
      case 'HELLO': {
        const id = randomBytes(16).toString('base64url');
        const session: Session = { token: '', lastSeq: 0, ids: [] };
        this.sessions.set(id, session);
        state.sessionId = id;
        this.answer(ws, id, session, false);
        return;
      }
      case 'RECONNECT': {
        const session = this.sessions.get(frame.sessionId);
        if (session && session.token === frame.resumeToken) {
          state.sessionId = frame.sessionId;
          this.answer(ws, frame.sessionId, session, true);
        } else {
          const id = randomBytes(16).toString('base64url');
          const fresh: Session = { token: '', lastSeq: 0, ids: [] };
          this.sessions.set(id, fresh);
          state.sessionId = id;
          this.answer(ws, id, fresh, false);
        }
        return;
      }
      case 'PING':
        this.send(ws, { type: 'PONG', t: frame.t });
        return;
      case 'MESSAGE': {
        const session = this.sessions.get(state.sessionId ?? '');
        if (!session) return;
        const hostile = this.next;
        this.next = undefined;
        if (hostile) {
          this.injected++;
          if (hostile.kind === 'text') ws.send(hostile.text);
          else ws.send(hostile.bytes, { binary: hostile.kind === 'binary' });
        }
        if (frame.seq === session.lastSeq + 1) {
          session.lastSeq = frame.seq;
          session.ids.push(frame.id);
        } else if (frame.seq > session.lastSeq + 1) {
          this.send(ws, { type: 'ERROR', code: 'ERR_OUT_OF_ORDER', message: 'seq skips ahead', seq: frame.seq });
          return;
        }
        this.send(ws, { type: 'ACK', seq: frame.seq });
        return;
      }
      default:
        return;
    }
  }
}
