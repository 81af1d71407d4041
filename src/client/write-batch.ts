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
 * The most frames one write carries. A turn's batch is cut after this many: the first frames
 * leave while the rest are built, so the server works on them while this client still does. An
 * unbounded batch turned a pipelined exchange into lockstep (the client built its whole batch,
 * then the server handled it while the client idled, and back): in the bench's echo over
 * loopback (window 100), 58,000 msgs/s uncut against 77,000–82,000 cut at 8, at the same CPU
 * per message; 2 and 4 measured the same rate at slightly more CPU. @internal
 */
export const MAX_BATCH_FRAMES = 8;

/**
 * Node's `ws` writes every frame to its TCP socket at once: one system call per frame. A client
 * answering a chunk of received messages (a busy room, its own copies coming back) sends as
 * many frames in one turn. Corking the socket until the turn's work is done sends them in
 * `writev`s of up to `MAX_BATCH_FRAMES`, in order, with no added delay (the server corks too,
 * rooms/write-batch.ts).
 * Only where the socket is reachable (`ws` in Node, whose `_socket` is a `net.Socket`).
 * @internal
 */
export function frameWriter(socket: WebSocketLike): FrameWriter {
  /** The TCP socket holding this turn's frames until the turn ends. */
  let held: Corkable | undefined;
  /** Frames held in the current write. */
  let frames = 0;
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
          frames = 0;
          // A resolved promise, not queueMicrotask: Node wraps each queueMicrotask callback in an
          // AsyncResource. It runs once the current turn's synchronous work is done.
          void RESOLVED.then(flush);
        }
      } else if (frames === MAX_BATCH_FRAMES) {
        // Send what is held and go on holding: the scheduled flush uncorks the rest.
        held.uncork();
        held.cork();
        frames = 0;
      }
      socket.send(data);
      frames++;
    },
    flush,
  };
}
