/**
 * Redis trouble at the server level, with a real redis-server of the test's own: unreachable at
 * start, then stopped and started again under traffic. The server never crashes, refuses
 * handshakes and writes with ERR_STORE_UNAVAILABLE / 4005, reports 503 on /healthz, logs the
 * outage through its logger, and recovers by itself; a client's queue is delivered exactly once.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.js';
import type { Logger, ReferenceServer } from '../../src/server/index.js';
import { Peer, expectExactlyOnceInOrder, until, within } from './peers.js';
import { RedisProcess, freePort, hasRedisServer } from './redis-process.js';

/** A logger keeping every line (level and message). */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_obj: object, msg?: string): void => void lines.push({ level, msg: msg ?? '' });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A bare handshake: the first frame back and the close code. */
async function rawHello(url: string): Promise<{ frame: Record<string, unknown> | undefined; code: number }> {
  const ws = new WebSocket(url, 'resilient-socket.v1');
  let frame: Record<string, unknown> | undefined;
  ws.on('message', (data: Buffer) => (frame ??= JSON.parse(data.toString()) as Record<string, unknown>));
  ws.on('open', () => ws.send(JSON.stringify({ type: 'HELLO', v: 1 })));
  ws.on('error', () => undefined);
  const code = await within(new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c))), 'the refused handshake to close', 10_000);
  return { frame, code };
}

async function health(server: ReferenceServer): Promise<number> {
  return (await fetch(`${server.url.replace('ws://', 'http://')}/healthz`)).status;
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe.skipIf(!hasRedisServer)('the server when Redis is unreachable or restarted', () => {
  it('refuses with 4005 and 503 while Redis is down, logs it, recovers by itself, and a queued send is delivered exactly once', async () => {
    const redis = new RedisProcess(await freePort());
    cleanups.push(() => redis.destroy());
    const logger = recordingLogger();
    // Redis is not there yet: the server starts anyway.
    const server = await createServer({ port: 0, logger, store: { redis: redis.url, keyPrefix: 'outage:' }, sweepInterval: 100, instanceHeartbeatInterval: 100, instanceTtl: 5000 });
    cleanups.push(() => server.close());
    expect(await health(server)).toBe(503);
    const refused = await rawHello(server.url);
    expect(refused.frame).toMatchObject({ type: 'ERROR', code: 'ERR_STORE_UNAVAILABLE' });
    expect(refused.code).toBe(4005);
    await until(() => logger.lines.some((l) => l.level === 'warn' && l.msg.startsWith('store unreachable')), 'the outage warning');

    // A client started meanwhile queues its join and a message; both go out once Redis is there.
    const sender = new Peer('sender', server.url);
    cleanups.push(() => sender.drop());
    const joined = sender.ws.join('r');
    const early = sender.ws.send({ early: true }, { room: 'r', id: 'early' });
    await until(() => sender.ws.stats.queueLength === 2, 'the queued join and message');
    await redis.start();
    await within(Promise.all([joined, early]), 'the queued join and message after Redis came up', 15_000);
    await until(() => logger.lines.some((l) => l.msg.startsWith('store reachable again')), 'the recovery log');
    expect(await health(server)).toBe(200);

    const receiver = new Peer('receiver', server.url);
    cleanups.push(() => receiver.drop());
    await receiver.ws.join('r');
    const before = ['m-0', 'm-1'];
    for (const id of before) await sender.ws.send({ id }, { room: 'r', id });

    // Redis goes away under traffic (a clean stop: its append-only file keeps every write).
    const warnings = logger.lines.filter((l) => l.msg.startsWith('store unreachable')).length;
    await redis.stop('SIGTERM');
    await until(() => logger.lines.filter((l) => l.msg.startsWith('store unreachable')).length > warnings, 'the second outage warning');
    expect(await health(server)).toBe(503);
    const during = ['m-2', 'm-3', 'm-4', 'm-5'];
    const pending = during.map((id) => sender.ws.send({ id }, { room: 'r', id }));
    // The sender's write is refused (4005) and it keeps retrying with its queue intact.
    await until(() => sender.ws.status !== 'open' || sender.ws.stats.queueLength === during.length, 'the sender to hold its queue');
    expect((await rawHello(server.url)).code).toBe(4005);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sender.ws.stats.queueLength).toBe(during.length);

    await redis.start();
    await within(Promise.all(pending), 'the queued sends to be acknowledged after Redis is back', 20_000);
    await until(() => receiver.ids('r').length >= 6 && sender.ids('r').length >= 7, 'delivery after the outage');
    const all = [...before, ...during];
    expect(expectExactlyOnceInOrder(receiver, 'r', all)).toEqual(all);
    expect(expectExactlyOnceInOrder(sender, 'r', ['early', ...all])).toEqual(['early', ...all]);
    // The data survived the restart, so the sessions resumed rather than starting over.
    expect(sender.opens.at(-1), JSON.stringify(sender.opens)).toMatchObject({ recovered: true });
    expect(new Set(sender.opens.map((o) => o.sessionId)).size).toBe(1);
    expect(await health(server)).toBe(200);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('after a Redis restart that lost everything: clients start new sessions, nothing is doubled, new traffic flows', async () => {
    const redis = new RedisProcess(await freePort(), { persist: false });
    cleanups.push(() => redis.destroy());
    await redis.start();
    const logger = recordingLogger();
    const server = await createServer({ port: 0, logger, store: { redis: redis.url, keyPrefix: 'amnesia:' } });
    cleanups.push(() => server.close());
    const sender = new Peer('sender', server.url);
    const receiver = new Peer('receiver', server.url);
    cleanups.push(() => sender.drop(), () => receiver.drop());
    await Promise.all([sender.ws.join('r'), receiver.ws.join('r')]);
    const before = ['m-0', 'm-1'];
    for (const id of before) await sender.ws.send({ id }, { room: 'r', id });
    await until(() => receiver.ids('r').length === 2, 'the messages before the restart');
    const firstSession = sender.ws.sessionId;

    await redis.stop('SIGKILL');
    const after = ['m-2', 'm-3', 'm-4'];
    const pending = after.map((id) => sender.ws.send({ id }, { room: 'r', id }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await redis.start();
    await within(Promise.all(pending), 'the sends after the restart', 20_000);

    // The sender's session was lost with Redis: it started over, said why, re-joined, re-sent.
    expect(sender.opens.at(-1)).toMatchObject({ recovered: false, reason: 'unknown' });
    expect(sender.ws.sessionId).not.toBe(firstSession);
    await until(() => receiver.ids('r').length >= 5 && sender.ids('r').length >= 5, 'the messages after the restart');
    for (const peer of [sender, receiver]) {
      const ids = peer.ids('r');
      expect(ids, peer.name).toEqual([...before, ...after]);
    }
    expect(await health(server)).toBe(200);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
