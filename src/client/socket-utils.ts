/** Small helpers of `ReconnectingWebSocket` that touch sockets and data, not its state. @internal */
import { utf8Length } from '../protocol/encoding.js';
import type { WebSocketLike } from './web-socket-like.js';

/** Default session key: origin and path of the URL (credentials in the query do not split sessions). */
export function deriveSessionKey(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0] ?? url;
  }
}

/** Replace a socket's handlers so nothing it does later reaches the client. */
export function detach(socket: WebSocketLike): void {
  // No-ops, not null: ws emits 'error' on an aborted connecting socket and would throw without a listener.
  const noop = (): void => undefined;
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop;
}

/** Mark a promise as handled (no unhandled-rejection report) and return it unchanged. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.then(undefined, ignore);
  return promise;
}

const ignore = (): void => undefined;

/** Whether `data` is binary (ArrayBuffer, a view, a Blob). */
export function isBinary(data: unknown): boolean {
  return (
    data instanceof ArrayBuffer ||
    ArrayBuffer.isView(data) ||
    (typeof Blob !== 'undefined' && data instanceof Blob)
  );
}

/** Size on the wire: UTF-8 length of text, byte length of binary. */
export function byteLength(data: unknown): number {
  if (typeof data === 'string') return utf8Length(data);
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data.size;
  if (Array.isArray(data)) return data.reduce((n: number, d) => n + byteLength(d), 0);
  return 0;
}

/** Report a listener's error in a new task, as browsers do, without breaking the caller. */
export function rethrowLater(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else
    setTimeout(() => {
      throw error;
    }, 0);
}
