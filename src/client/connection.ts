/**
 * One connection attempt: the socket, its connect timeout and its teardown. The owner
 * (`ReconnectingWebSocket`) decides what the events mean; a torn-down connection reports nothing
 * more, so a late event of an old socket can never touch the current one. @internal
 */
import { detach } from './socket-utils.js';
import type { Timers } from './timers.js';
import type { WebSocketConstructor, WebSocketLike } from './web-socket-like.js';
import { frameWriter } from './write-batch.js';
import type { FrameWriter } from './write-batch.js';

/** What a connection reports to its owner. @internal */
export interface ConnectionHandlers {
  open(conn: Connection): void;
  message(conn: Connection, data: unknown): void;
  error(conn: Connection, event: { message?: string; error?: unknown }): void;
  close(conn: Connection, code: number, reason: string, wasClean: boolean): void;
  /** Not established within `connectTimeout`. */
  timeout(conn: Connection): void;
}

/** Options of {@link Connection}. @internal */
export interface ConnectionOptions {
  WebSocket: WebSocketConstructor;
  url: string;
  protocols: string[];
  binaryType: 'blob' | 'arraybuffer' | undefined;
  timers: Timers;
  connectTimeout: number;
}

/** A socket and its connect timer. @internal */
export class Connection {
  readonly socket: WebSocketLike;
  readonly #timers: Timers;
  /** Node: the frames sent in one turn leave in one write (write-batch.ts). */
  readonly #writer: FrameWriter;
  #connectTimer: unknown;

  /** Throws what the WebSocket constructor throws (a malformed URL). */
  constructor(o: ConnectionOptions, handlers: ConnectionHandlers) {
    this.socket = o.protocols.length > 0 ? new o.WebSocket(o.url, o.protocols) : new o.WebSocket(o.url);
    if (o.binaryType !== undefined) this.socket.binaryType = o.binaryType;
    this.#writer = frameWriter(this.socket);
    this.#timers = o.timers;
    this.#connectTimer = o.timers.setTimeout(() => handlers.timeout(this), o.connectTimeout);
    this.socket.onopen = () => handlers.open(this);
    this.socket.onmessage = (event) => handlers.message(this, event.data);
    this.socket.onerror = (event) => handlers.error(this, event);
    this.socket.onclose = (event) => {
      this.#clearTimer();
      handlers.close(this, event.code, event.reason, event.wasClean);
    };
  }

  /** Open and (in protocol mode) handshaken: the connect timeout no longer applies. */
  established(): void {
    this.#clearTimer();
  }

  /** Send if the socket is open; false otherwise (or when the socket refuses). */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): boolean {
    if (this.socket.readyState !== 1) return false;
    try {
      this.#writer.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** Close gracefully; `close` is reported when the socket says so. */
  close(code: number, reason: string): void {
    this.#clearTimer();
    try {
      this.socket.close(code, reason);
    } catch {
      // A socket in a broken state: the owner's closing timeout covers it.
    }
  }

  /** Tear down now and report nothing more: timeouts, heartbeats, `reconnect()`. */
  abort(code: number, reason: string): void {
    // Frames sent earlier in this turn leave first, as they would have without the batching.
    this.#writer.flush();
    this.detach();
    const ws = this.socket as WebSocketLike & { terminate?: () => void };
    try {
      // `terminate` (ws) destroys a half-open TCP connection at once; browsers only have close().
      if (typeof ws.terminate === 'function') ws.terminate();
      else this.socket.close(code >= 3000 ? code : 1000, reason);
    } catch {
      // Already closed.
    }
  }

  /** Report nothing more (the owner has moved on). */
  detach(): void {
    this.#clearTimer();
    detach(this.socket);
  }

  #clearTimer(): void {
    if (this.#connectTimer !== undefined) this.#timers.clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }
}
