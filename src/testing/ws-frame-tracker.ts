/**
 * Finds WebSocket frame boundaries in one direction of a TCP byte stream, so the proxy can cut a
 * connection in the middle of a frame. It never changes bytes: it only reads them.
 *
 * The stream starts with the HTTP upgrade (request or response), ends at the blank line; from
 * there on it is a sequence of frames (RFC 6455 section 5.2). A response other than `101` means
 * the stream never carries frames, and tracking stops.
 */

/** A frame located in the stream: absolute byte offsets from the first byte of the connection. */
export interface TrackedFrame {
  /** Offset of the frame's first header byte. */
  readonly start: number;
  /** Header length in bytes (2 to 14). */
  readonly headerLength: number;
  /** Header plus payload length in bytes. */
  readonly length: number;
}

/** Which end of the upgrade this direction carries. */
export type TrackerRole = 'request' | 'response';

// An upgrade head larger than this is not a WebSocket handshake we want to follow.
const MAX_HEAD_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

type Phase = 'head' | 'frames' | 'off';

/** Incremental WebSocket frame-boundary parser for one direction of a connection. @internal */
export class WsFrameTracker {
  private phase: Phase = 'head';
  private readonly role: TrackerRole;
  /** Bytes consumed so far (absolute offset of the next byte to parse). */
  private offset = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  /** Partial frame header collected across chunks. */
  private header = Buffer.alloc(14);
  private headerFill = 0;
  private headerStart = 0;
  /** Payload bytes of the current frame still to skip. */
  private skip = 0;
  /** Frames whose start has not yet been dropped by `prune`. */
  private readonly frames: TrackedFrame[] = [];

  constructor(role: TrackerRole) {
    this.role = role;
  }

  /** Whether the stream still can carry frames (false once the upgrade failed). */
  get active(): boolean {
    return this.phase !== 'off';
  }

  /** Feed the next chunk of the stream, in order. */
  push(chunk: Buffer): void {
    let i = 0;
    if (this.phase === 'head') i = this.consumeHead(chunk);
    if (this.phase === 'frames') this.consumeFrames(chunk, i);
    this.offset += chunk.length;
  }

  /** The first located frame that starts at or after `from`, if any. */
  nextFrame(from: number): TrackedFrame | undefined {
    return this.frames.find((f) => f.start >= from);
  }

  /** Forget frames that start before `before` (already forwarded). */
  prune(before: number): void {
    let n = 0;
    while (n < this.frames.length && this.frames[n]!.start < before) n++;
    if (n > 0) this.frames.splice(0, n);
  }

  /** Returns the index in `chunk` where the frames begin (or chunk.length). */
  private consumeHead(chunk: Buffer): number {
    // Search the tail of what we already have plus this chunk, so a CRLFCRLF split across
    // chunks is found.
    const tail = this.headBytes > 0 ? Buffer.concat(this.head).subarray(Math.max(0, this.headBytes - 3)) : Buffer.alloc(0);
    const window = Buffer.concat([tail, chunk]);
    const at = window.indexOf(CRLFCRLF);
    if (at === -1) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes > MAX_HEAD_BYTES) this.stop();
      return chunk.length;
    }
    const endInChunk = at + 4 - tail.length;
    this.head.push(chunk.subarray(0, endInChunk));
    const headText = Buffer.concat(this.head).toString('latin1');
    this.head = [];
    this.headBytes = 0;
    if (this.role === 'response' && !/^HTTP\/1\.[01] 101 /.test(headText)) {
      this.stop();
      return chunk.length;
    }
    this.phase = 'frames';
    return endInChunk;
  }

  private consumeFrames(chunk: Buffer, from: number): void {
    let i = from;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      if (this.headerFill === 0) this.headerStart = this.offset + i;
      this.header[this.headerFill++] = chunk[i++]!;
      const need = this.headerLengthNeeded();
      if (need === undefined || this.headerFill < need) continue;
      const payload = this.payloadLength();
      this.frames.push({ start: this.headerStart, headerLength: need, length: need + payload });
      this.headerFill = 0;
      this.skip = payload;
    }
  }

  /** Total header length once enough bytes are known to tell, else undefined. */
  private headerLengthNeeded(): number | undefined {
    if (this.headerFill < 2) return undefined;
    const b1 = this.header[1]!;
    const masked = (b1 & 0x80) !== 0 ? 4 : 0;
    const len7 = b1 & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + ext + masked;
  }

  private payloadLength(): number {
    const len7 = this.header[1]! & 0x7f;
    if (len7 === 126) return this.header.readUInt16BE(2);
    if (len7 === 127) return this.header.readUInt32BE(2) * 2 ** 32 + this.header.readUInt32BE(6);
    return len7;
  }

  private stop(): void {
    this.phase = 'off';
    this.head = [];
    this.headBytes = 0;
    this.frames.length = 0;
  }
}
