/**
 * Fuzzing the client from a hostile server: between its acknowledgements, a server sends
 * malformed and mutated frames, arbitrary text, binary frames and text frames with invalid
 * UTF-8. `ReconnectingWebSocket` must never throw into the application, must report each
 * problem as an `error` event with a registered code, and must still get every message the
 * application sent to the server exactly once, in order (compared by id). `FUZZ_CLIENT_RUNS`
 * (else `FUZZ_RUNS` capped at 5000) sets the run count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReconnectingWebSocket } from '../../src/index.js';
import { ResilientSocketError, decodeServerFrame, isErrorCode } from '../../src/protocol/index.js';
import { FUZZ_RUNS, mutatedFrameText, validServerFrame } from './frames.arbitrary.js';
import { HostileServer } from './hostile-server.js';
import type { Payload } from './protocol-peer.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_CLIENT_RUNS ?? Math.min(FUZZ_RUNS, 5_000)) || 150);

// Only frames the client cannot accept: a valid frame from a hostile server (an ACK for a seq
// never sent, a second handshake answer) is a different test.
const invalidText = (text: fc.Arbitrary<string>) => text.filter((t) => !decodeServerFrame(t).ok).map((t): Payload => ({ kind: 'text', text: t }));

const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 6, arbitrary: invalidText(mutatedFrameText(validServerFrame)) },
  { weight: 2, arbitrary: invalidText(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.jsonValue().map((v) => JSON.stringify(v)))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b): Payload => ({ kind: 'binary', bytes: Buffer.from(b) })) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xc3, 0x28])).map((bytes): Payload => ({ kind: 'rawText', bytes })) },
);

let server: HostileServer;
let client: ReconnectingWebSocket;

beforeAll(async () => {
  server = await HostileServer.start();
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('ReconnectingWebSocket under a hostile server', () => {
  it('reports garbage as coded errors, never throws, and delivers every message exactly once', async () => {
    client = new ReconnectingWebSocket(server.url, { initialReconnectDelay: 10, maxReconnectDelay: 50 });
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    await within(new Promise((resolve) => client.once('open', resolve)), 5_000, 'first open');

    const sent: string[] = [];
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        server.next = p;
        const id = `c${sent.length + 1}`;
        sent.push(id);
        await within(client.send({ n: sent.length }, { id }), 10_000, `the ACK of ${id}`);
        for (const e of errors.slice(checked)) {
          expect(e).toBeInstanceOf(ResilientSocketError);
          expect(isErrorCode((e as ResilientSocketError).code), String((e as ResilientSocketError).code)).toBe(true);
        }
        checked = errors.length;
      }),
      { numRuns: RUNS },
    );

    const processed = [...server.sessions.values()].flatMap((s) => s.ids);
    expect(processed).toEqual(sent);
    expect(server.sessions.size).toBe(1);
    expect(server.injected).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(client.status).toBe('open');
  });
});
