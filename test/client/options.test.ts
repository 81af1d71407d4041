/**
 * Option validation: every rejected value names the option and what it must be; defaults apply
 * for undefined only (null is refused, never silently defaulted).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveOptions } from '../../src/client/options.js';
import { ResilientSocketError } from '../../src/protocol/errors.js';

const refused = (options: unknown): string => {
  try {
    resolveOptions(options as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ResilientSocketError);
    expect((e as ResilientSocketError).code).toBe('ERR_INVALID_OPTION');
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
};

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const o = resolveOptions(undefined);
    for (const name of ['initialReconnectDelay', 'maxReconnectDelay', 'fastReconnectMaxDelay', 'fastReconnectWindow', 'reconnectFactor', 'jitter', 'maxRetries', 'connectTimeout', 'ackInterval', 'ackEvery', 'maxQueueLength', 'maxQueueBytes', 'storageTimeout', 'mode'] as const) {
      expect(o[name], name).toBe(DEFAULTS[name]);
    }
    expect(o).toMatchObject({ protocols: [], random: Math.random, now: Date.now, reconnectOnOnline: true, reconnectOnVisible: true, startClosed: false });
    expect(o.heartbeatInterval).toBeUndefined();
    expect(resolveOptions(undefined, 'plain').mode).toBe('plain');
  });

  it('keeps given values', () => {
    const o = resolveOptions({ maxRetries: Infinity, maxQueueLength: 0, heartbeatInterval: 500, startClosed: true, reconnectOnOnline: false, protocols: 'x', reconnectFactor: 1.5 });
    expect(o).toMatchObject({ maxRetries: Infinity, maxQueueLength: 0, heartbeatInterval: 500, startClosed: true, reconnectOnOnline: false, protocols: ['x'], reconnectFactor: 1.5 });
  });

  it('refuses bad values with the option named and what it must be', () => {
    expect(refused(5)).toBe('options must be an object');
    expect(refused({ mode: 'x' })).toBe("options.mode must be 'auto', 'protocol' or 'plain', got x");
    expect(refused({ jitter: 'half' })).toBe("options.jitter must be 'full', 'equal' or 'none', got half");
    expect(refused({ protocols: [''] })).toBe('options.protocols must be non-empty strings');
    expect(refused({ now: 5 })).toBe('options.now must be a function');
    expect(refused({ timers: { setTimeout() {} } })).toBe('options.timers needs setTimeout, clearTimeout');
    expect(refused({ storage: null })).toBe('options.storage needs get, set, delete');
    expect(refused({ sessionKey: '' })).toBe('options.sessionKey must be a non-empty string');
    expect(refused({ binaryType: 'nodebuffer' })).toBe("options.binaryType must be 'blob' or 'arraybuffer'");
    expect(refused({ initialReconnectDelay: -1 })).toBe('options.initialReconnectDelay must be a non-negative finite number of ms, got -1');
    expect(refused({ connectTimeout: 0 })).toBe('options.connectTimeout must be a positive finite number, got 0');
    expect(refused({ heartbeatTimeout: NaN })).toBe('options.heartbeatTimeout must be a positive finite number, got NaN');
    expect(refused({ reconnectFactor: 0.5 })).toBe('options.reconnectFactor must be a finite number >= 1, got 0.5');
    expect(refused({ maxQueueBytes: 1.5 })).toBe('options.maxQueueBytes must be a non-negative integer or Infinity, got 1.5');
    expect(refused({ ackEvery: '5' })).toBe('options.ackEvery must be a positive finite number, got 5');
    expect(refused({ startClosed: null })).toBe('options.startClosed must be a boolean, got object');
    expect(refused({ maxRetries: null })).toBe('options.maxRetries must be a non-negative integer or Infinity, got null');
    expect(refused({ initialReconnectDelay: 5000, maxReconnectDelay: 1000 })).toBe('options.maxReconnectDelay must be >= initialReconnectDelay');
  });
});
