/**
 * Frame encoding and byte counting: what every client, plain or protocol, needs from the codec.
 * No schemas here, so importing it does not pull the validation tables into a bundle.
 */
import type { ClientFrame, ServerFrame } from './frames.js';

/** Encode a frame as JSON text. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

/** Only ASCII: one byte per character. */
const ASCII = /^[\0-\x7f]*$/;

/** Node's native counter where there is one: no copy, several times faster than the regex. */
const nativeLength = (globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }).Buffer?.byteLength;

/** UTF-8 byte length of a string without allocating a buffer (no TextEncoder needed). */
export function utf8Length(text: string): number {
  return nativeLength !== undefined ? nativeLength(text, 'utf8') : portableUtf8Length(text);
}

/** {@link utf8Length} in plain JavaScript (browsers). Exported for its tests. @internal */
export function portableUtf8Length(text: string): number {
  // The regex engine scans ASCII text several times faster than a charCodeAt loop.
  if (ASCII.test(text)) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
