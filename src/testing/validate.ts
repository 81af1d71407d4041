/** Option checks for the testing entry point; every failure is `ERR_INVALID_OPTION`. @internal */
import { isIP } from 'node:net';
import { ResilientSocketError } from '../protocol/errors.js';

/** Throw `ERR_INVALID_OPTION` with `message`. */
export function invalid(message: string): never {
  throw new ResilientSocketError('ERR_INVALID_OPTION', message);
}

/** Whether `host` names this machine's loopback interface. */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    const lower = h.toLowerCase();
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(lower);
  }
  return false;
}

export function checkPort(value: unknown, name: string, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    invalid(`${name} must be an integer from ${allowZero ? 0 : 1} to 65535`);
  }
  return value;
}

export function checkHost(value: unknown, name: string, allowNonLoopback: boolean): string {
  if (typeof value !== 'string' || value.length === 0) invalid(`${name} must be a non-empty string`);
  if (!allowNonLoopback && !isLoopback(value)) {
    invalid(`${name} must be a loopback address (127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(value)}; pass allowNonLoopback: true to override`);
  }
  return value;
}

export function checkNonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) invalid(`${name} must be a finite number >= 0`);
  return value;
}

export function checkPositive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) invalid(`${name} must be a finite number > 0`);
  return value;
}

export function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) invalid(`${name} must be a positive integer`);
  return value;
}

export function checkFunction<T>(value: unknown, name: string): T {
  if (typeof value !== 'function') invalid(`${name} must be a function`);
  return value as T;
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    invalid(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

const DIRECTIONS = ['toServer', 'toClient'] as const;
const DIRECTION_OPTIONS = ['toServer', 'toClient', 'both'] as const;
const CUT_MODES = ['rst', 'fin'] as const;

/** Checks the options object itself is an object (or absent). */
function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) invalid(`${name} must be an object`);
  return value as Record<string, unknown>;
}

export function checkCutOptions(value: unknown, name: string): void {
  const o = checkObject(value, name);
  if (o.mode !== undefined) checkOneOf(o.mode, CUT_MODES, `${name}.mode`);
}

export function checkMidFrameOptions(value: unknown, name: string): void {
  checkCutOptions(value, name);
  const o = checkObject(value, name);
  if (o.direction !== undefined) checkOneOf(o.direction, DIRECTIONS, `${name}.direction`);
}

export function checkStallOptions(value: unknown, name: string): void {
  const o = checkObject(value, name);
  if (o.direction !== undefined) checkOneOf(o.direction, DIRECTION_OPTIONS, `${name}.direction`);
}

export function checkLatencyOptions(value: unknown, name: string): void {
  if (value === null) return;
  if (value === undefined) invalid(`${name} must be an object { ms, jitter? } or null`);
  checkStallOptions(value, name);
  const o = checkObject(value, name);
  checkNonNegative(o.ms, `${name}.ms`);
  if (o.jitter !== undefined) checkNonNegative(o.jitter, `${name}.jitter`);
}

export function checkThrottleOptions(value: unknown, name: string): void {
  if (value === null) return;
  if (value === undefined) invalid(`${name} must be an object { bytesPerSecond } or null`);
  checkStallOptions(value, name);
  const o = checkObject(value, name);
  checkPositive(o.bytesPerSecond, `${name}.bytesPerSecond`);
}
