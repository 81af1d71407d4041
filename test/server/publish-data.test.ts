/**
 * `server.publish` / `server.sendTo` take application data: what reaches clients is what JSON
 * makes of it, the same on every store, and data JSON cannot carry is refused with a coded error
 * before anything is stored (stored, it would fail to encode for every member and every replay).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Json } from '../../src/protocol/index.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

describe('server-published data', () => {
  it('reaches members as JSON would carry it: a Date as its ISO string, undefined members dropped', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['d']);
    const at = new Date('2026-12-03T16:00:00.000Z');
    await server.publish('d', { at, gone: undefined, list: [1, undefined] } as unknown as Json);
    const frame = await client.next('NEW_MESSAGE');
    expect(frame.data).toEqual({ at: '2026-12-03T16:00:00.000Z', list: [1, null] });
  });

  it('refuses data JSON cannot encode with ERR_INVALID_OPTION and stores nothing; the room and a resume stay usable', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['d']);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ n: 1n }, cyclic, undefined]) {
      await expect(server.publish('d', bad as unknown as Json)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      await expect(server.sendTo(session.sessionId, bad as unknown as Json)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    }
    const ok = await server.publish('d', 'fine');
    expect(ok.offset).toBe(1);
    const live = await client.next('NEW_MESSAGE');
    expect([live.id, live.data]).toEqual([ok.id, 'fine']);
    // a resume from before the refused publishes replays exactly the one stored message
    client.close();
    await client.closed;
    const back = await TestClient.open(server.url);
    const room = session.rooms.d!;
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: { [room.stream]: { epoch: room.epoch, offset: room.offset } }, lastAckedSeq: 0 });
    expect(await back.next('STATE_RECOVERED')).toMatchObject({ recovered: true });
    const replayed = await back.next('NEW_MESSAGE');
    expect([replayed.id, replayed.data]).toEqual([ok.id, 'fine']);
    expect(await back.next('REPLAY_DONE')).toMatchObject({ replayed: 1 });
  });
});
