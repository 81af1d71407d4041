/** Option validation shared by the stores. */
import { ResilientSocketError } from '../../protocol/errors.js';

/** @internal The error thrown for a bad constructor option: "options.x must be ...". */
export function invalidOption(name: string, requirement: string): ResilientSocketError {
  return new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be ${requirement}`, { details: { option: name } });
}

/** @internal Throws unless `value` is undefined or a non-negative safe integer. */
export function checkNonNegativeInteger(name: string, value: unknown): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
    throw invalidOption(name, 'a non-negative integer');
  }
}

/** @internal Throws unless `value` is undefined or a function. */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw invalidOption(name, 'a function');
}

/** @internal Throws unless `value` is undefined or a non-empty string. */
export function checkString(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) throw invalidOption(name, 'a non-empty string');
}
