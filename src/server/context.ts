/**
 * What hooks see of a connection.
 */
import type { IncomingMessage } from 'node:http';
import type { ServerFrame } from '../protocol/index.js';

/** The connection a hook runs for. */
export interface ConnectionContext {
  /** The session the connection holds. */
  readonly sessionId: string;
  /** The user id `authenticate` returned, or null. */
  readonly user: string | null;
  /** Rooms the session is in. */
  readonly rooms: ReadonlySet<string>;
  /** The HTTP upgrade request of the connection. */
  readonly request: IncomingMessage;
  /** Send a frame on this connection only (not recoverable; prefer `server.sendTo`). */
  send(frame: ServerFrame): void;
}
