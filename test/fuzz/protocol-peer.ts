/**
 * A raw protocol peer for fuzzing the server: sends anything (text, binary, invalid UTF-8) and
 * records every server frame, validating each one with `decodeServerFrame`.
 */
import { WebSocket } from 'ws';
import { SUBPROTOCOL, decodeServerFrame } from '../../src/protocol/index.js';
import type { ServerFrame } from '../../src/protocol/index.js';

/** What a fuzzer sends: JSON text, bytes in a text frame, or bytes in a binary frame. */
export type Payload = { kind: 'text'; text: string } | { kind: 'rawText'; bytes: Buffer } | { kind: 'binary'; bytes: Buffer };

export class ProtocolPeer {
  readonly ws: WebSocket;
  /** Every frame received, decoded. */
  readonly frames: ServerFrame[] = [];
  /** Frames the server sent that do not decode as server frames (must stay empty). */
  readonly invalid: string[] = [];
  close: { code: number } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const text = String(data);
      const decoded = isBinary ? undefined : decodeServerFrame(text);
      if (decoded?.ok) this.frames.push(decoded.frame);
      else this.invalid.push(isBinary ? '<binary>' : text.slice(0, 300));
      this.wake();
    });
    ws.on('close', (code) => {
      this.close = { code };
      this.wake();
    });
  }

  static async open(url: string): Promise<ProtocolPeer> {
    const peer = new ProtocolPeer(new WebSocket(url, [SUBPROTOCOL], { maxPayload: 64 * 1024 * 1024 }));
    await new Promise<void>((resolve, reject) => {
      peer.ws.once('open', () => resolve());
      peer.ws.once('close', (code) => reject(new Error(`closed before open (${code})`)));
    });
    return peer;
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  send(payload: Payload | object): void {
    if (!this.isOpen) return;
    if ('kind' in payload && (payload.kind === 'text' || payload.kind === 'rawText' || payload.kind === 'binary')) {
      const p = payload as Payload;
      if (p.kind === 'text') this.ws.send(p.text);
      else this.ws.send(p.bytes, { binary: p.kind === 'binary' });
    } else this.ws.send(JSON.stringify(payload));
  }

  /** Resolves once `done()` holds (checked on each frame and on close), or rejects after `timeoutMs`. */
  async until(done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3)).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first frame of `type` at or after index `from`. */
  find<T extends ServerFrame['type']>(type: T, from = 0): Extract<ServerFrame, { type: T }> | undefined {
    return this.frames.slice(from).find((f) => f.type === type) as Extract<ServerFrame, { type: T }> | undefined;
  }

  terminate(): Promise<void> {
    if (this.close) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.terminate();
    return closed;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
