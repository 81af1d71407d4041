import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WsFrameTracker } from '../../src/testing/ws-frame-tracker.js';

/** Encodes a frame header (RFC 6455 5.2) followed by `payloadLength` filler bytes. */
function frame(payloadLength: number, masked: boolean, opcode = 0x2): Buffer {
  const len7 = payloadLength < 126 ? payloadLength : payloadLength < 65_536 ? 126 : 127;
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const header = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  header[0] = 0x80 | opcode;
  header[1] = (masked ? 0x80 : 0) | len7;
  if (len7 === 126) header.writeUInt16BE(payloadLength, 2);
  if (len7 === 127) header.writeBigUInt64BE(BigInt(payloadLength), 2);
  return Buffer.concat([header, Buffer.alloc(payloadLength, 0x5a)]);
}

const RESPONSE = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n');

/** Splits `data` at the given cut points (sorted, deduplicated, within bounds). */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

describe('WsFrameTracker', () => {
  it('finds every frame boundary after the upgrade, however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 70_000 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (asClient, sizes, cuts) => {
          const head = asClient ? REQUEST : RESPONSE;
          const frames = sizes.map((n) => frame(n, asClient));
          const stream = Buffer.concat([head, ...frames]);
          const tracker = new WsFrameTracker(asClient ? 'request' : 'response');
          for (const chunk of split(stream, cuts)) tracker.push(chunk);
          let start = head.length;
          for (const f of frames) {
            const found = tracker.nextFrame(start);
            expect(found).toMatchObject({ start, length: f.length });
            start += f.length;
          }
          expect(tracker.nextFrame(start)).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads 64-bit lengths', () => {
    const tracker = new WsFrameTracker('response');
    const header = Buffer.from([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
    tracker.push(Buffer.concat([RESPONSE, header]));
    expect(tracker.nextFrame(0)).toEqual({ start: RESPONSE.length, headerLength: 10, length: 10 + 2 ** 32 + 5 });
  });

  it('stops tracking when the upgrade is refused', () => {
    const tracker = new WsFrameTracker('response');
    tracker.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    tracker.push(frame(3, false));
    expect(tracker.active).toBe(false);
    expect(tracker.nextFrame(0)).toBeUndefined();
  });

  it('forgets frames that were already forwarded', () => {
    const tracker = new WsFrameTracker('response');
    tracker.push(Buffer.concat([RESPONSE, frame(1, false), frame(2, false)]));
    tracker.prune(RESPONSE.length + 1);
    expect(tracker.nextFrame(0)?.start).toBe(RESPONSE.length + 3);
  });
});
