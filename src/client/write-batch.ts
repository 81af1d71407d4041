/**
 * How the client writes frames to a socket. In Node, the frames sent in one turn leave in one
 * write; the browser build swaps in `write-batch.browser.ts`, which writes straight through
 * (rollup.config.mjs picks a module's `.browser.ts` sibling for browser bundles). @internal
 */
import type { WebSocketLike } from './web-socket-like.js';

/** Writes frames to one socket. @internal */
export interface FrameWriter {
  /** Write `data` (throws what the socket's `send` throws). */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void;
  /** Write what is held now (before the socket is torn down). */
  flush(): void;
}

/** The part of a Node `net.Socket` that batching uses. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

const RESOLVED = Promise.resolve();

/**
 * Node's `ws` writes every frame to its TCP socket at once: one system call per frame. A client
 * answering a chunk of received messages (a busy room, its own copies coming back) sends as
 * many frames in one turn. Corking the socket until the turn's work is done sends them in one
 * `writev`, in order, with no added delay (the server does the same, rooms/write-batch.ts).
 * Only where the socket is reachable (`ws` in Node, whose `_socket` is a `net.Socket`).
 * @internal
 */
export function frameWriter(socket: WebSocketLike): FrameWriter {
  /** The TCP socket holding this turn's frames until the turn ends. */
  let held: Corkable | undefined;
  const flush = (): void => {
    const raw = held;
    held = undefined;
    raw?.uncork();
  };
  return {
    send(data) {
      if (held === undefined) {
        const raw = (socket as { _socket?: Partial<Corkable> | null })._socket;
        if (raw !== null && typeof raw === 'object' && typeof raw.cork === 'function' && typeof raw.uncork === 'function') {
          raw.cork();
          held = raw as Corkable;
          // A resolved promise, not queueMicrotask: Node wraps each queueMicrotask callback in an
          // AsyncResource. It runs once the current turn's synchronous work is done.
          void RESOLVED.then(flush);
        }
      }
      socket.send(data);
    },
    flush,
  };
}
