/**
 * `write-batch.ts` for browser bundles (see rollup.config.mjs): a browser WebSocket batches on
 * its own and has no socket to cork, so frames are written straight through. @internal
 */
import type { WebSocketLike } from './web-socket-like.js';
import type { FrameWriter } from './write-batch.js';

/** Each frame is its own write here (the same export as the Node module's). @internal */
export const MAX_BATCH_FRAMES = 1;

/** Writes straight to `socket`. @internal */
export function frameWriter(socket: WebSocketLike): FrameWriter {
  return { send: (data) => socket.send(data), flush() {} };
}
