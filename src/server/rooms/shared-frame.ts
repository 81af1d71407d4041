/**
 * One server frame sent to many connections: the JSON is encoded once, and the WebSocket frame
 * bytes (header and payload in one buffer) are built once and written as they are to every
 * socket that can take them, instead of every `ws.send` measuring, framing and writing the same
 * text again.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** A text frame encoded on first use, shared by every recipient. @internal */
export class SharedFrame {
  #text: string | undefined;
  #bytes: Buffer | undefined;
  readonly #encode: () => string;

  /** `encode` runs at most once, and only if some recipient is sent the frame. */
  constructor(encode: () => string) {
    this.#encode = encode;
  }

  /** The frame's JSON text. */
  get text(): string {
    return (this.#text ??= this.#encode());
  }

  /** The whole WebSocket frame: FIN, text opcode, unmasked length, UTF-8 payload. */
  get bytes(): Buffer {
    return (this.#bytes ??= textFrameBytes(this.text));
  }
}

/**
 * A `NEW_MESSAGE` frame's JSON text with `"ack":<seq>` added as its last member (see "Folded
 * acknowledgements" in docs/protocol.md): the sender's copy is the shared text plus a few
 * characters, the payload is not encoded again. `text` is a JSON object, so it ends with `}`.
 */
export function foldAck(text: string, seq: number): string {
  return `${text.slice(0, -1)},"ack":${seq}}`;
}

/**
 * An unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2: a server never masks) carrying
 * `text`, header and payload in one buffer.
 */
export function textFrameBytes(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const bytes = Buffer.allocUnsafe(head + length);
  bytes[0] = 0x81;
  if (head === 2) bytes[1] = length;
  else if (head === 4) {
    bytes[1] = 126;
    bytes.writeUInt16BE(length, 2);
  } else {
    bytes[1] = 127;
    // 64-bit length; a JS string never reaches 2^53 bytes, so the high word is small.
    bytes.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    bytes.writeUInt32BE(length >>> 0, 6);
  }
  bytes.write(text, head, 'utf8');
  return bytes;
}

/** The parts of a `ws` WebSocket that are not in its typings. */
interface WsInternals {
  _socket?: unknown;
  _isServer?: unknown;
}

/**
 * The TCP socket of a server-side `ws` connection when pre-built frames may be written to it
 * directly, or undefined (then the caller sends text through `ws.send`). That holds when no
 * extension was negotiated (nothing is compressed, so `ws` writes every frame straight to the
 * socket, in call order, and never queues one) and the socket is a plain stream socket. Checked
 * once per connection: extensions are fixed by the handshake.
 */
export function directSocket(ws: WebSocket): Socket | undefined {
  const internals = ws as unknown as WsInternals;
  const socket = internals._socket as Partial<Socket> | null | undefined;
  if (internals._isServer !== true || ws.extensions !== '' || socket === null || typeof socket !== 'object') return undefined;
  if (typeof socket.write !== 'function' || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function') return undefined;
  return socket as Socket;
}
