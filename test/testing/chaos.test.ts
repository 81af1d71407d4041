import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createFaultProxy } from '../../src/testing/index.js';
import type { ChaosReport, FaultEvent, FaultProxy } from '../../src/testing/index.js';
import { ManualClock, Teardown, connectClient, seeded, sha256, startEchoServer, startTcpEcho, until } from './harness.js';

let teardown: Teardown;
beforeEach(() => {
  teardown = new Teardown();
});
afterEach(() => teardown.run());

/** One chaos run on a manual clock against four idle connections; returns what it did. */
async function manualRun(seed: number): Promise<{ report: ChaosReport; events: FaultEvent[]; pendingAfterClose: number }> {
  const local = new Teardown();
  try {
    const server = await startEchoServer(local);
    const clock = new ManualClock();
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port }, clock });
    local.add(() => proxy.close());
    for (let i = 0; i < 4; i++) await connectClient(proxy.url(), local);
    const events: FaultEvent[] = [];
    proxy.on('fault', (e) => events.push(e));
    const run = proxy.chaos({ rate: 20, random: seeded(seed), maxFaults: 12, faultDurationMs: 100 });
    clock.advance(60_000);
    const report = await run.done;
    await proxy.close();
    return { report, events, pendingAfterClose: clock.pending };
  } finally {
    await local.run();
  }
}

describe('FaultProxy.chaos', () => {
  it('is bounded by maxFaults, replays the same faults for the same seed, and leaves no timer behind', async () => {
    const first = await manualRun(42);
    const second = await manualRun(42);
    expect(first.report.ended).toBe('maxFaults');
    expect(first.report.injected).toBe(12);
    expect(Object.values(first.report.byKind).reduce((a, b) => a + b, 0)).toBe(12);
    expect(second.report).toEqual(first.report);
    expect(second.events).toEqual(first.events);
    expect(first.pendingAfterClose).toBe(0);
    expect(second.pendingAfterClose).toBe(0);
  });

  it('is bounded by durationMs and undoes temporary faults when it ends', async () => {
    const server = await startEchoServer(teardown);
    const clock = new ManualClock();
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port }, clock });
    teardown.add(() => proxy.close());
    await connectClient(proxy.url(), teardown);
    const run = proxy.chaos({ rate: 5, kinds: ['stall'], random: seeded(3), durationMs: 2_000, maxFaults: 1_000, faultDurationMs: 10_000 });
    clock.advance(3_000);
    const report = await run.done;
    expect(report.ended).toBe('duration');
    expect(report.injected).toBeGreaterThan(0);
    expect(proxy.connections()[0]!.stalled).toEqual({ toServer: false, toClient: false });
    expect(clock.pending).toBe(0);
  });

  it('stops on close()', async () => {
    const server = await startEchoServer(teardown);
    const clock = new ManualClock();
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port }, clock });
    const run = proxy.chaos({ rate: 1 });
    await proxy.close();
    expect((await run.done).ended).toBe('stopped');
    expect(clock.pending).toBe(0);
  });

  it('never reorders, duplicates or drops bytes under stall, latency and throttle faults', async () => {
    const echo = await startTcpEcho(teardown);
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
    teardown.add(() => proxy.close());
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    teardown.add(() => socket.destroy());
    const chunks: Buffer[] = [];
    let got = 0;
    socket.on('data', (b: Buffer) => {
      chunks.push(b);
      got += b.length;
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const run = proxy.chaos({
      rate: 200,
      kinds: ['stall', 'latency', 'throttle'],
      maxFaults: 40,
      faultDurationMs: 20,
      latency: { ms: 5, jitter: 10 },
      throttle: { bytesPerSecond: 1_000_000 },
    });
    const data = randomBytes(600_000);
    // Written over the chaos run, in small pieces, so faults land mid-stream.
    for (let i = 0; i < data.length; i += 20_000) {
      socket.write(data.subarray(i, i + 20_000));
      await new Promise((r) => setTimeout(r, 2));
    }
    const report = await run.done;
    await until(() => got >= data.length, 'every byte echoed', 20_000);
    expect(report.injected).toBe(40);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
  });

  it('with cuts, each connection delivers an in-order prefix of what was sent on it', async () => {
    const server = await startEchoServer(teardown);
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
    teardown.add(() => proxy.close());
    const run = proxy.chaos({ rate: 100, maxFaults: 30, faultDurationMs: 20, kinds: ['rst', 'fin', 'midFrame', 'stall', 'latency', 'refuse'] });
    let running = true;
    void run.done.then(() => (running = false));
    const sessions: Array<{ sent: string[]; got: string[] }> = [];
    // Five clients that reconnect until the run ends; each connection is one session.
    const loops = Array.from({ length: 5 }, async (_, c) => {
      for (let attempt = 0; running && attempt < 200; attempt++) {
        const session = { sent: [] as string[], got: [] as string[] };
        sessions.push(session);
        const ws = new WebSocket(proxy.url());
        ws.on('error', () => {});
        ws.on('message', (d) => session.got.push(String(d)));
        const timer = setInterval(() => {
          if (ws.readyState !== ws.OPEN) return;
          const m = `${c}:${attempt}:${session.sent.length}`;
          session.sent.push(m);
          ws.send(m);
        }, 2);
        await new Promise<void>((resolve) => ws.once('close', () => resolve()));
        clearInterval(timer);
        if (running) await new Promise((r) => setTimeout(r, 5));
      }
    });
    const report = await run.done;
    await proxy.close();
    await Promise.all(loops);
    expect(report.ended).toBe('maxFaults');
    expect(proxy.pendingTimers).toBe(0);
    for (const s of sessions) expect(s.got).toEqual(s.sent.slice(0, s.got.length));
    expect(sessions.some((s) => s.got.length > 0)).toBe(true);
    expect(proxy.stats.faults.rst + proxy.stats.faults.fin + proxy.stats.faults.midFrame).toBeGreaterThan(0);
  });
});
