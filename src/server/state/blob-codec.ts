/**
 * State events and snapshots as stored: JSON text, or zlib-deflated JSON in base64 when the text
 * is larger than a threshold. Reads accept both, so the threshold can change between runs.
 */
import { deflate, inflate, deflateSync, inflateSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { Json } from '../../protocol/frames.js';
import type { Blob } from '../stores/store.js';
import { ResilientSocketError } from '../../protocol/errors.js';

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** Default `compressThreshold`: 8 KiB of JSON text. */
export const DEFAULT_COMPRESS_THRESHOLD = 8 * 1024;

/**
 * Encode `value` for the store; compressed when its JSON is longer than `threshold` bytes.
 * Compression runs on libuv's thread pool, not on the event loop.
 */
export async function encodeBlob(value: Json, threshold: number): Promise<Blob> {
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) <= threshold) return { encoding: 'json', data: text };
  const packed = await deflateAsync(Buffer.from(text, 'utf8'));
  return { encoding: 'deflate', data: packed.toString('base64') };
}

/** Synchronous `encodeBlob`, for callers that cannot wait (small values only, in practice). */
export function encodeBlobSync(value: Json, threshold: number): Blob {
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) <= threshold) return { encoding: 'json', data: text };
  return { encoding: 'deflate', data: deflateSync(Buffer.from(text, 'utf8')).toString('base64') };
}

function blobError(blob: unknown, cause: unknown): ResilientSocketError {
  const encoding = typeof blob === 'object' && blob !== null ? String((blob as { encoding?: unknown }).encoding) : typeof blob;
  return new ResilientSocketError('ERR_INTERNAL', `a stored state blob (encoding ${encoding}) could not be decoded`, { cause });
}

/** Decode a stored blob (either encoding). Throws `ERR_INTERNAL` on a corrupt one. */
export async function decodeBlob(blob: Blob): Promise<Json> {
  try {
    if (blob.encoding === 'json') return JSON.parse(blob.data) as Json;
    if (blob.encoding === 'deflate') return JSON.parse((await inflateAsync(Buffer.from(blob.data, 'base64'))).toString('utf8')) as Json;
  } catch (err) {
    throw blobError(blob, err);
  }
  throw blobError(blob, undefined);
}

/** Synchronous `decodeBlob`, used while folding many small events. */
export function decodeBlobSync(blob: Blob): Json {
  try {
    if (blob.encoding === 'json') return JSON.parse(blob.data) as Json;
    if (blob.encoding === 'deflate') return JSON.parse(inflateSync(Buffer.from(blob.data, 'base64')).toString('utf8')) as Json;
  } catch (err) {
    throw blobError(blob, err);
  }
  throw blobError(blob, undefined);
}
