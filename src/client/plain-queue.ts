/**
 * The offline queue of plain mode: frames waiting for a connection, in memory only (plain
 * frames may be binary, and without acks there is nothing to resume). Bounded like the
 * protocol queue. @internal
 */
import type { ResilientSocketError } from '../protocol/errors.js';
import { checkQueueRoom } from './queue-full.js';
import { byteLength, isBinary } from './socket-utils.js';

/** Data `send()` accepts in plain mode. */
export type PlainData = string | ArrayBufferLike | ArrayBufferView | Blob | object | number | boolean | null;

interface Entry {
  raw: string | ArrayBufferLike | ArrayBufferView | Blob;
  bytes: number;
  resolve(value: unknown): void;
  reject(error: ResilientSocketError): void;
}

/** Frames waiting for a plain connection. @internal */
export class PlainQueue {
  readonly #limits: { maxLength: number; maxBytes: number };
  #entries: Entry[] = [];
  #bytes = 0;

  constructor(limits: { maxLength: number; maxBytes: number }) {
    this.#limits = limits;
  }

  get length(): number {
    return this.#entries.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Queue a frame; resolves once it is handed to a socket. Throws `ERR_QUEUE_FULL`. */
  push(data: PlainData): Promise<unknown> {
    const raw = toRaw(data);
    const bytes = byteLength(raw);
    checkQueueRoom(this.#entries.length, this.#bytes, bytes, this.#limits);
    return new Promise((resolve, reject) => this.#add({ raw, bytes, resolve, reject }));
  }

  /** Take over a message queued before the server turned out to be plain (no bounds: it was accepted). */
  adopt(data: PlainData, resolve: (value: unknown) => void, reject: (error: ResilientSocketError) => void): void {
    const raw = toRaw(data);
    this.#add({ raw, bytes: byteLength(raw), resolve, reject });
  }

  /** Hand every frame to `send`, in order; stops at the first that throws (the socket broke). */
  flush(send: (raw: Entry['raw']) => void): void {
    while (this.#entries.length > 0) {
      const entry = this.#entries[0]!;
      try {
        send(entry.raw);
      } catch {
        return;
      }
      this.#entries.shift();
      this.#bytes -= entry.bytes;
      entry.resolve(undefined);
    }
  }

  /** Abandon everything (the client closed). */
  rejectAll(error: ResilientSocketError): void {
    const entries = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    for (const e of entries) e.reject(error);
  }

  #add(entry: Entry): void {
    this.#entries.push(entry);
    this.#bytes += entry.bytes;
  }
}

/** What goes on the wire: text and binary as they are, anything else as JSON. */
function toRaw(data: PlainData): Entry['raw'] {
  return typeof data === 'string' || isBinary(data) ? (data as Entry['raw']) : JSON.stringify(data);
}
