/**
 * Fuzzing the reference server over real sockets: a hostile peer sends malformed, mutated,
 * oversized, binary and non-UTF-8 frames, before and after its handshake, while a well-behaved
 * session publishes to a room. Every bad frame must be answered with the coded `ERROR` the codec
 * predicts or a specific close code, every frame the server sends must be a valid server frame,
 * the server must never fail internally, and the well-behaved session's messages arrive exactly
 * once, in order (compared by id). `FUZZ_RUNS` raises the run count
 * (`FUZZ_SERVER_RUNS` sets it for this file alone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ERRORS, decodeClientFrame, encodeFrame, isErrorCode } from '../../src/protocol/index.js';
import type { ErrorInfo, ServerFrame } from '../../src/protocol/index.js';
import { createServer } from '../../src/server/index.js';
import type { ReferenceServer } from '../../src/server/index.js';
import { FUZZ_SERVER_RUNS, mutatedFrameText, validClientFrame } from './frames.arbitrary.js';
import { ProtocolPeer } from './protocol-peer.js';
import type { Payload } from './protocol-peer.js';

const MAX_PAYLOAD = 64 * 1024;
/** Close codes a server may legitimately end a hostile connection with; never 1006 or 1011. */
const ALLOWED_CLOSE = new Set<number>([
  1000, // BYE, or the session ended
  1007, // invalid UTF-8 in a text frame (ws)
  1009, // frame larger than maxPayload (ws)
  ...Object.values(ERRORS).flatMap((e: ErrorInfo) => (e.closeCode !== undefined && e.closeCode !== 1011 ? [e.closeCode] : [])),
]);

const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from('{"type":"PING","t":1}\xff', 'latin1'), Buffer.from([0xed, 0xa0, 0x80])];

const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 6, arbitrary: mutatedFrameText(validClientFrame).map((text): Payload => ({ kind: 'text', text })) },
  { weight: 2, arbitrary: validClientFrame.map((f): Payload => ({ kind: 'text', text: encodeFrame(f) })) },
  { weight: 2, arbitrary: fc.oneof(fc.string(), fc.string({ unit: 'binary' })).map((text): Payload => ({ kind: 'text', text })) },
  { weight: 1, arbitrary: fc.jsonValue().map((v): Payload => ({ kind: 'text', text: JSON.stringify(v) })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b): Payload => ({ kind: 'binary', bytes: Buffer.from(b) })) },
  { weight: 1, arbitrary: fc.constantFrom(...INVALID_UTF8).map((bytes): Payload => ({ kind: 'rawText', bytes })) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: MAX_PAYLOAD + 1, max: 3 * MAX_PAYLOAD })
      .map((n): Payload => ({ kind: 'text', text: JSON.stringify({ type: 'MESSAGE', seq: 1, id: 'big', data: 'x'.repeat(n) }) })),
  },
);

const input = fc.record({ payload, preHandshake: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) });

let server: ReferenceServer;
const peers = new Set<ProtocolPeer>();

async function open(): Promise<ProtocolPeer> {
  const peer = await ProtocolPeer.open(server.url);
  peers.add(peer);
  return peer;
}

beforeAll(async () => {
  // Rate limits are not under test here: the fuzzer sends as fast as the server answers.
  server = await createServer({ port: 0, host: '127.0.0.1', maxPayload: MAX_PAYLOAD, maxMessagesPerSecond: 1_000_000 });
});

afterAll(async () => {
  await Promise.all([...peers].map((p) => p.terminate()));
  await server?.close();
});

/** What the server must have done with `p`, given the frames it sent back and how the connection ended. */
function checkAnswer(p: Payload, fresh: ServerFrame[], close: { code: number } | undefined): void {
  for (const f of fresh) {
    if (f.type === 'ERROR') {
      expect(isErrorCode(f.code), `unregistered code ${f.code}`).toBe(true);
      expect(f.code, f.message).not.toBe('ERR_INTERNAL');
    }
    if (f.type === 'ACK' && f.error) expect(isErrorCode(f.error.code)).toBe(true);
  }
  if (close) expect(ALLOWED_CLOSE, `close code ${close.code}`).toContain(close.code);
  const codes = fresh.flatMap((f) => (f.type === 'ERROR' ? [f.code] : []));
  if (p.kind === 'binary') {
    expect(codes).toContain('ERR_BINARY_NOT_SUPPORTED');
    return;
  }
  if (p.kind === 'rawText') {
    expect(close?.code).toBe(1007);
    return;
  }
  // What the server decodes is the UTF-8 the socket carried (lone surrogates become U+FFFD).
  const wire = Buffer.from(p.text, 'utf8');
  if (wire.length > MAX_PAYLOAD) {
    expect(close?.code).toBe(1009);
    return;
  }
  const decoded = decodeClientFrame(wire.toString('utf8'));
  if (!decoded.ok) expect(codes[0], wire.toString('utf8').slice(0, 200)).toBe(decoded.code);
}

describe('reference server under fuzzing', () => {
  it('answers every bad frame with a coded ERROR or a specific close code, and leaves other sessions untouched', async () => {
    const bystander = await open();
    bystander.send({ type: 'HELLO', v: 1, rooms: ['lobby'] });
    await bystander.until(() => bystander.find('NEW_SESSION') !== undefined, 'NEW_SESSION');
    const bystanderId = bystander.find('NEW_SESSION')!.sessionId;
    const sent: string[] = [];

    let hostile: ProtocolPeer | undefined;
    let markers = 0;
    let runs = 0;
    const closes = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(input, async ({ payload: p, preHandshake }) => {
        runs++;
        // The bystander publishes throughout; its messages must come back whole and in order.
        const seq = sent.length + 1;
        sent.push(`b${seq}`);
        bystander.send({ type: 'MESSAGE', seq, id: `b${seq}`, room: 'lobby', data: { seq } });

        let peer: ProtocolPeer;
        if (preHandshake) peer = await open();
        else {
          if (!hostile?.isOpen) {
            hostile = await open();
            hostile.send({ type: 'HELLO', v: 1, rooms: ['fuzz'] });
            const h = hostile;
            await h.until(() => h.find('NEW_SESSION') !== undefined || h.close !== undefined, 'hostile NEW_SESSION');
          }
          peer = hostile;
        }
        const start = peer.frames.length;
        // A RESYNC of a stream nobody receives is answered in order, after everything sent before it.
        const marker = `fuzz-marker:${++markers}`;
        peer.send(p);
        peer.send({ type: 'RESYNC', stream: marker, epoch: 'e', from: 1 });
        const isMarker = (f: ServerFrame) => f.type === 'ERROR' && f.stream === marker;
        await peer.until(() => peer.close !== undefined || peer.frames.slice(start).some(isMarker), `the answer to marker ${marker}`);
        const fresh = peer.frames.slice(start).filter((f) => !isMarker(f));
        checkAnswer(p, fresh, peer.close);
        expect(peer.invalid).toEqual([]);
        if (peer.close) closes.set(peer.close.code, (closes.get(peer.close.code) ?? 0) + 1);
        if (preHandshake) {
          await peer.terminate();
          peers.delete(peer);
        }
      }),
      { numRuns: FUZZ_SERVER_RUNS },
    );

    await bystander.until(() => bystander.frames.filter((f) => f.type === 'ACK').length >= sent.length, 'every bystander ACK', 10_000);
    const acks = bystander.frames.flatMap((f) => (f.type === 'ACK' ? [f] : []));
    expect(acks.map((a) => a.seq)).toEqual(sent.map((_, i) => i + 1));
    expect(acks.filter((a) => a.error)).toEqual([]);
    const own = bystander.frames.flatMap((f) => (f.type === 'NEW_MESSAGE' && f.stream === 'room:lobby' && f.from === bystanderId ? [f] : []));
    expect(own.map((m) => m.id)).toEqual(sent);
    for (let i = 1; i < own.length; i++) expect(own[i]!.offset).toBeGreaterThan(own[i - 1]!.offset);
    expect(bystander.frames.filter((f) => f.type === 'ERROR')).toEqual([]);
    expect(bystander.invalid).toEqual([]);
    expect(bystander.close).toBeUndefined();

    // Still serving: a fresh session gets through its handshake and a heartbeat.
    const fresh = await open();
    fresh.send({ type: 'HELLO', v: 1 });
    fresh.send({ type: 'PING', t: 42 });
    await fresh.until(() => fresh.find('PONG') !== undefined, 'PONG from a fresh session');
    expect(fresh.find('NEW_SESSION')).toBeDefined();

    // No connection leaks: once the hostile peer is gone, only the bystander and the fresh one remain.
    await hostile?.terminate();
    const deadline = Date.now() + 5_000;
    while (server.connectionCount !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.connectionCount).toBe(2);
    if (process.env.FUZZ_RUNS) console.log(`server fuzz: ${runs} runs, closes by code ${JSON.stringify(Object.fromEntries(closes))}`);
  });
});
