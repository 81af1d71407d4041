/**
 * A session that expired while the client was away: the client re-joins its rooms with `since`,
 * and the server replays what retention still holds, reporting only the trimmed part as a gap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, teardown, until, realClient, roomLog } from './helpers.js';

afterEach(teardown);

describe('JOIN_ROOM with a since past retention', () => {
  it('replays the retained messages once, in order, and reports only the trimmed ones', async () => {
    const server = await startServer({ retention: { maxCount: 5 }, sessionTtl: 50, sweepInterval: 60_000 });
    let reachable = true;
    const client = realClient(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'), { initialReconnectDelay: 20, maxReconnectDelay: 50 });
    const { got, gaps } = roomLog<number>(client, 'r');
    await client.join('r');
    await server.publish('r', 1);
    await until(() => got.length === 1, 'the first message');
    reachable = false;
    await server.disconnect(client.sessionId!, 4008);
    for (let i = 2; i <= 12; i++) await server.publish('r', i);
    await new Promise((r) => setTimeout(r, 150));
    await server.sweepExpiredSessions();
    reachable = true;
    client.reconnect();
    await until(() => got.includes(12), 'the last message');
    await new Promise((r) => setTimeout(r, 100));
    // Retention holds 8..12; 2..7 were trimmed.
    expect(got).toEqual([1, 8, 9, 10, 11, 12]);
    expect(gaps).toEqual([expect.objectContaining({ stream: 'room:r', reason: 'history_gap', from: 2, to: 7 })]);
  });
});
