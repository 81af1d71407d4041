/**
 * FaultPipe on a manual clock with stand-in sockets: when bytes move under latency, jitter,
 * throttling and stalls, decided by the clock and not by the machine's speed.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FaultPipe } from '../../src/testing/fault-pipe.js';
import { TimerSet } from '../../src/testing/timer-set.js';
import { WsFrameTracker } from '../../src/testing/ws-frame-tracker.js';
import { ManualClock } from './harness.js';

/** The parts of a socket the pipe uses: pause/resume on the source, write/end on the destination. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  paused = false;
  ended = false;
  written: Buffer[] = [];
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  write(buf: Buffer, cb?: () => void): boolean {
    this.written.push(Buffer.from(buf));
    cb?.();
    return true;
  }
  end(): this {
    this.ended = true;
    return this;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.written);
  }
}

function setup(options: { random?: () => number; highWaterMark?: number } = {}) {
  const clock = new ManualClock();
  const timers = new TimerSet(clock);
  const source = new FakeSocket();
  const dest = new FakeSocket();
  let cuts = 0;
  const pipe = new FaultPipe({
    source: source as unknown as Socket,
    timers,
    random: options.random ?? (() => 0),
    tracker: new WsFrameTracker('request'),
    highWaterMark: options.highWaterMark ?? 1024,
    onCutPoint: () => cuts++,
  });
  pipe.setDestination(dest as unknown as Socket);
  return { clock, timers, source, dest, pipe, cuts: () => cuts };
}

describe('FaultPipe', () => {
  it('forwards at once without faults, and passes FIN on after the data', () => {
    const { dest, pipe } = setup();
    pipe.push(Buffer.from('ab'));
    pipe.push(Buffer.from('c'));
    pipe.endSource();
    expect(dest.bytes.toString()).toBe('abc');
    expect(dest.ended).toBe(true);
  });

  it('holds each chunk for the latency, and jitter never lets a later chunk overtake', () => {
    // Decreasing random draws: each chunk alone would be due before the previous one.
    const draws = [0.9, 0.5, 0.1];
    const { clock, dest, pipe } = setup({ random: () => draws.shift() ?? 0 });
    pipe.setLatency({ ms: 100, jitter: 100 });
    pipe.push(Buffer.from('1'));
    pipe.push(Buffer.from('2'));
    pipe.push(Buffer.from('3'));
    clock.advance(189);
    expect(dest.bytes.toString()).toBe('');
    clock.advance(1);
    expect(dest.bytes.toString()).toBe('123');
  });

  it('throttles to bytesPerSecond in slices of a twentieth of a second', () => {
    const { clock, dest, pipe } = setup({ highWaterMark: 1 << 20 });
    pipe.setThrottle({ bytesPerSecond: 1000 });
    pipe.push(Buffer.alloc(200, 1));
    expect(dest.bytes.length).toBe(50);
    clock.advance(50);
    expect(dest.bytes.length).toBe(100);
    clock.advance(100);
    expect(dest.bytes.length).toBe(200);
  });

  it('stall holds bytes and FIN and pauses the source; resume releases them in order', () => {
    const { source, dest, pipe } = setup();
    pipe.push(Buffer.from('a'));
    pipe.stall();
    expect(source.paused).toBe(true);
    pipe.push(Buffer.from('b'));
    pipe.endSource();
    expect(dest.bytes.toString()).toBe('a');
    expect(dest.ended).toBe(false);
    pipe.resume();
    expect(source.paused).toBe(false);
    expect(dest.bytes.toString()).toBe('ab');
    expect(dest.ended).toBe(true);
  });

  it('pauses the source above highWaterMark and resumes it once drained below half', () => {
    const { clock, source, pipe } = setup({ highWaterMark: 100 });
    pipe.setLatency({ ms: 10 });
    pipe.push(Buffer.alloc(150));
    expect(source.paused).toBe(true);
    clock.advance(10);
    expect(source.paused).toBe(false);
  });

  it('forwards exactly the bytes pushed, in order, under any mix of faults', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => ({ op: 'push' as const, b: Buffer.from(b) })),
            fc.constantFrom({ op: 'stall' as const }, { op: 'resume' as const }, { op: 'noLatency' as const }, { op: 'noThrottle' as const }),
            fc.record({ op: fc.constant('latency' as const), ms: fc.nat(50), jitter: fc.nat(50) }),
            fc.record({ op: fc.constant('throttle' as const), bps: fc.integer({ min: 20, max: 100_000 }) }),
            fc.record({ op: fc.constant('advance' as const), ms: fc.nat(200) }),
          ),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (ops, seed) => {
          let s = seed;
          const { clock, timers, dest, pipe } = setup({ random: () => ((s = (s * 48271) % 2147483647) / 2147483647), highWaterMark: 512 });
          const pushed: Buffer[] = [];
          for (const o of ops) {
            if (o.op === 'push') {
              pushed.push(o.b);
              pipe.push(o.b);
            } else if (o.op === 'stall') pipe.stall();
            else if (o.op === 'resume') pipe.resume();
            else if (o.op === 'latency') pipe.setLatency({ ms: o.ms, jitter: o.jitter });
            else if (o.op === 'noLatency') pipe.setLatency(null);
            else if (o.op === 'throttle') pipe.setThrottle({ bytesPerSecond: o.bps });
            else if (o.op === 'noThrottle') pipe.setThrottle(null);
            else clock.advance(o.ms);
            // Whatever has arrived so far is a prefix of what was pushed.
            const all = Buffer.concat(pushed);
            expect(all.subarray(0, dest.bytes.length).equals(dest.bytes)).toBe(true);
          }
          pipe.resume();
          pipe.setThrottle(null);
          clock.advance(1_000_000);
          expect(dest.bytes.equals(Buffer.concat(pushed))).toBe(true);
          expect(timers.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('arms a mid-frame cut inside the next frame and writes nothing past it', () => {
    const { dest, pipe, cuts } = setup();
    const head = Buffer.from('GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n');
    const frame = Buffer.concat([Buffer.from([0x82, 0x80 | 10, 1, 2, 3, 4]), Buffer.alloc(10, 7)]);
    pipe.push(head);
    expect(pipe.armCutMidFrame()).toBe(true);
    expect(cuts()).toBe(0);
    pipe.push(frame);
    pipe.push(Buffer.from('next frame bytes'));
    expect(cuts()).toBe(1);
    const sent = dest.bytes.length - head.length;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(frame.length);
  });
});
