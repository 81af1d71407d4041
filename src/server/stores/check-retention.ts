/** Validation of the `Retention` passed to `Store.append`. */
import { ResilientSocketError } from '../../protocol/errors.js';
import type { Retention } from './store.js';

/** @internal Throws `ERR_INVALID_OPTION` unless every limit given is a non-negative integer. */
export function checkRetention(retention: Retention): void {
  for (const key of ['maxCount', 'maxAgeMs', 'idleTtlMs'] as const) {
    const value = retention[key];
    if (key === 'idleTtlMs' && value === undefined) continue;
    if (!Number.isSafeInteger(value) || value! < 0) {
      throw new ResilientSocketError('ERR_INVALID_OPTION', `retention.${key} must be a non-negative integer`, { details: { option: `retention.${key}` } });
    }
  }
}
