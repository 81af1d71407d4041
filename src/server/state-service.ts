/**
 * The seam between the server core and the versioned-state engine. The core calls these hooks;
 * the default implementation has no state and answers every `STATE_*` frame with `ERR_NO_STATE`.
 */
import type { ServerFrame, StateAckFrame, StateEventFrame, StateResyncFrame } from '../protocol/index.js';
import type { Store } from './stores/store.js';

/** The STATE_* frames a client may send. */
export type StateFrame = StateAckFrame | StateResyncFrame | StateEventFrame;

/** What the state engine sees of a connection. */
export interface StateConnection {
  /** Connection id, unique within the instance. */
  readonly id: string;
  /** The session held by the connection. */
  readonly sessionId: string;
  readonly user: string | null;
  /** Rooms the session is in. */
  readonly rooms: ReadonlySet<string>;
  /** The client asked for synced state (`HELLO.state` / `RECONNECT.state`); none is sent otherwise. */
  readonly followsState: boolean;
  /** Send a frame on this connection. */
  send(frame: ServerFrame): void;
}

/** What the core hands the state engine. */
export interface StateServiceDeps {
  store: Store;
  /**
   * Advance the session's `seq` (inbound dedup for `STATE_EVENT`s that append nothing):
   * the core's `store.advanceSeq`.
   */
  advanceSeq: Store['advanceSeq'];
}

/** Hooks the core calls; every one may be async and is awaited in the connection's frame order. */
export interface StateService {
  /** After `NEW_SESSION` / `STATE_RECOVERED` and the replay: send the catch-up `STATE_UPDATE`s. */
  onHandshake(conn: StateConnection, clientVersions: Record<string, number>): Promise<void>;
  /** After `ROOM_JOINED_ACK`. */
  onJoin(conn: StateConnection, room: string): Promise<void>;
  /** After `ROOM_LEFT_ACK`. */
  onLeave(conn: StateConnection, room: string): Promise<void>;
  /** A `STATE_ACK`, `STATE_RESYNC` or `STATE_EVENT` frame. */
  onFrame(conn: StateConnection, frame: StateFrame): Promise<void>;
  /** The connection closed (the session may live on). */
  onClose(conn: StateConnection): Promise<void>;
  /** The session ended for good (expired or `BYE`): free its state. */
  onSessionEnd(sessionId: string): Promise<void>;
  /** The server is closing. */
  close(): Promise<void>;
}

/** Builds a state service for a server. */
export type StateServiceFactory = (deps: StateServiceDeps) => StateService;

/** The state service of a server without state: refuses `STATE_*` frames with `ERR_NO_STATE`. @internal */
export function noStateService(deps: StateServiceDeps): StateService {
  const none = async (): Promise<void> => {};
  return {
    onHandshake: none,
    onJoin: none,
    onLeave: none,
    onClose: none,
    onSessionEnd: none,
    close: none,
    async onFrame(conn, frame) {
      const message = `no state is configured for scope ${JSON.stringify(frame.scope)}`;
      if (frame.type !== 'STATE_EVENT') {
        conn.send({ type: 'ERROR', code: 'ERR_NO_STATE', message, scope: frame.scope });
        return;
      }
      // Consume the seq so the client's queue moves on; a duplicate gets the same answer.
      const result = await deps.advanceSeq(conn.sessionId, frame.seq);
      if (result.status === 'out_of_order') {
        conn.send({ type: 'ERROR', code: 'ERR_OUT_OF_ORDER', message: `expected seq ${result.lastSeq + 1}`, seq: frame.seq });
        return;
      }
      conn.send({ type: 'ACK', seq: frame.seq, error: { code: 'ERR_NO_STATE', message } });
    },
  };
}
