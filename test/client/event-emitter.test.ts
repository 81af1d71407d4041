/**
 * The client's own typed emitter keeps the eventemitter3 behaviour the docs promise: the same
 * random sequences of on/once/off/emit/removeAllListeners give the same calls, counts and names
 * on both; Node's `events.once` works with it; `error` without a listener does not throw.
 */
import { once } from 'node:events';
import { EventEmitter as EE3 } from 'eventemitter3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventEmitter } from '../../src/client/event-emitter.js';

type Events = { a: (n: number) => void; b: (n: number) => void; error: (e: Error) => void };

type Op =
  | { op: 'on' | 'once'; event: 'a' | 'b'; fn: number }
  | { op: 'off'; event: 'a' | 'b'; fn: number | null }
  | { op: 'emit'; event: 'a' | 'b'; n: number }
  | { op: 'removeAll'; event: 'a' | 'b' | null }
  /** a listener that, when called, adds or removes another one (mutation during emit) */
  | { op: 'mutating'; event: 'a' | 'b'; fn: number; adds: boolean; other: number };

const event = fc.constantFrom('a' as const, 'b' as const);
const fnId = fc.integer({ min: 0, max: 3 });
const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constantFrom('on' as const, 'once' as const), event, fn: fnId }),
    fc.record({ op: fc.constant('off' as const), event, fn: fc.option(fnId) }),
    fc.record({ op: fc.constant('emit' as const), event, n: fc.integer({ min: 0, max: 99 }) }),
    fc.record({ op: fc.constant('removeAll' as const), event: fc.option(event) }),
    fc.record({ op: fc.constant('mutating' as const), event, fn: fc.integer({ min: 4, max: 5 }), adds: fc.boolean(), other: fnId }),
  ),
  { maxLength: 40 },
);

interface Surface {
  on(e: string, fn: (...a: never[]) => void): unknown;
  once(e: string, fn: (...a: never[]) => void): unknown;
  off(e: string, fn?: (...a: never[]) => void): unknown;
  emit(e: string, ...args: unknown[]): boolean;
  removeAllListeners(e?: string): unknown;
  listenerCount(e: string): number;
  eventNames(): Array<string | symbol>;
}

function run(emitter: Surface, sequence: Op[]): unknown[] {
  const log: unknown[] = [];
  const fns = new Map<number, (n: number) => void>();
  const fn = (id: number) => {
    if (!fns.has(id)) fns.set(id, (n: number) => log.push(['call', id, n]));
    return fns.get(id)!;
  };
  for (const o of sequence) {
    switch (o.op) {
      case 'on':
      case 'once':
        emitter[o.op](o.event, fn(o.fn));
        break;
      case 'off':
        emitter.off(o.event, o.fn === null ? undefined : fn(o.fn));
        break;
      case 'emit':
        log.push(['emit', emitter.emit(o.event, o.n)]);
        break;
      case 'removeAll':
        emitter.removeAllListeners(o.event ?? undefined);
        break;
      case 'mutating':
        if (!fns.has(o.fn)) {
          fns.set(o.fn, (n: number) => {
            log.push(['call', o.fn, n]);
            if (o.adds) emitter.on(o.event, fn(o.other));
            else emitter.off(o.event, fn(o.other));
          });
        }
        emitter.on(o.event, fns.get(o.fn)!);
        break;
    }
    log.push(['count', emitter.listenerCount('a'), emitter.listenerCount('b'), [...emitter.eventNames()].sort()]);
  }
  return log;
}

describe('EventEmitter (the client emitter)', () => {
  it('behaves like eventemitter3 for any sequence of on/once/off/emit/removeAllListeners, mutation during emit included', () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        expect(run(new EventEmitter<Events>() as unknown as Surface, sequence)).toEqual(run(new EE3() as unknown as Surface, sequence));
      }),
      { numRuns: 500 },
    );
  });

  it('calls listeners with the emitter as this (or the context given), and returns this for chaining', () => {
    const e = new EventEmitter<Events>();
    const ctx = {};
    const seen: unknown[] = [];
    expect(
      e
        .on('a', function (this: unknown) {
          seen.push(this);
        })
        .addListener(
          'a',
          function (this: unknown) {
            seen.push(this);
          },
          ctx,
        ),
    ).toBe(e);
    e.emit('a', 1);
    expect(seen).toEqual([e, ctx]);
    expect(e.listeners('a')).toHaveLength(2);
    e.removeListener('a');
    expect(e.listenerCount('a')).toBe(0);
  });

  it('does not throw on an error event without a listener, and rejects a listener that is not a function', () => {
    const e = new EventEmitter<Events>();
    expect(e.emit('error', new Error('x'))).toBe(false);
    expect(() => e.on('a', 42 as unknown as (n: number) => void)).toThrow(TypeError);
  });

  it("works with Node's events.once, leaving no listener behind", async () => {
    const e = new EventEmitter<Events>();
    const p = once(e as never, 'a');
    expect(e.listenerCount('a')).toBe(1);
    e.emit('a', 7);
    expect(await p).toEqual([7]);
    expect(e.eventNames()).toEqual([]);
  });
});
