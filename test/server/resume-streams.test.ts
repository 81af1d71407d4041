/**
 * A resume watches the session's streams and reads their bounds beside the attach, from the
 * rooms its first read of the session named. When the rooms changed in between (another
 * connection of the session joined a room meanwhile) it watches and reads what the session
 * holds once attached; when the resume fails, the streams it watched are dropped before the
 * connection gets a new session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/stores/memory.js';
import type { SessionRecord, SessionUpdate } from '../../src/server/stores/store.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

/** A memory store that runs `beforeResume` once, right before the next `resumeSession`. */
class RacingStore extends MemoryStore {
  beforeResume: (() => Promise<void>) | undefined;
  refuseResume = false;

  override async resumeSession(id: string, update: SessionUpdate, owner: string, presentedHash?: string): Promise<{ previous: string | null; record: SessionRecord } | undefined> {
    const hook = this.beforeResume;
    this.beforeResume = undefined;
    await hook?.();
    if (this.refuseResume) return undefined;
    return super.resumeSession(id, update, owner, presentedHash);
  }
}

describe('the streams a resume watches', () => {
  it('replays a room the session joined between its first read and the attach', async () => {
    const store = new RacingStore();
    const server = await startServer({ store });
    const { client: away, session } = await connectNew(server, ['r']);
    const { client: publisher } = await connectNew(server, ['r', 'late']);
    away.ws.terminate();
    await away.closed;
    const joinedAt = await store.info('room:late');
    for (const [i, id] of ['late1', 'late2'].entries()) {
      publisher.send({ type: 'MESSAGE', seq: i + 1, id, room: 'late', data: i });
      await publisher.next('ACK');
    }
    publisher.send({ type: 'MESSAGE', seq: 3, id: 'r1', room: 'r', data: 0 });
    await publisher.next('ACK');
    // As if another connection of the session joined `late` while this resume was under way.
    store.beforeResume = async () => {
      const record = await store.getSession(session.sessionId);
      await store.updateSession(session.sessionId, { rooms: { ...record!.rooms, late: { epoch: joinedAt.epoch, offset: joinedAt.lastOffset } } });
    };
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const recovered = await back.next('STATE_RECOVERED');
    expect(recovered).toMatchObject({ recovered: true });
    expect(Object.keys(recovered.rooms).sort()).toEqual(['late', 'r']);
    expect((await back.messages('room:late', 2)).map((m) => m.id)).toEqual(['late1', 'late2']);
    expect((await back.messages('room:r', 1)).map((m) => m.id)).toEqual(['r1']);
    expect((await back.next('REPLAY_DONE')).replayed).toBe(3);
    // Live from here on, in both rooms.
    publisher.send({ type: 'MESSAGE', seq: 4, id: 'late3', room: 'late', data: 3 });
    expect((await back.messages('room:late', 1)).map((m) => m.id)).toEqual(['late3']);
  });

  it("drops a failed resume's streams before the connection starts a new session", async () => {
    const store = new RacingStore();
    const server = await startServer({ store });
    const { client: away, session } = await connectNew(server, ['old']);
    const { client: publisher } = await connectNew(server, ['old']);
    away.ws.terminate();
    await away.closed;
    // The token was retired between the check and the attach (a resume elsewhere won).
    store.refuseResume = true;
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0, rooms: ['new'] });
    const fresh = await back.next('NEW_SESSION');
    expect(fresh.reason).toBe('token_rejected');
    // The connection watches the new session's streams only: none of the old session's is left.
    const hub = (server as unknown as { hub: { connections: Map<string, { sessionId: string; cursors: Map<string, unknown> }> } }).hub;
    const conn = [...hub.connections.values()].find((c) => c.sessionId === fresh.sessionId);
    expect([...conn!.cursors.keys()].sort()).toEqual(['room:new', `session:${fresh.sessionId}`]);
    // The old session's room is not the new session's: nothing of it reaches the connection.
    publisher.send({ type: 'MESSAGE', seq: 1, id: 'not-yours', room: 'old', data: 0 });
    await publisher.next('ACK');
    const { client: other } = await connectNew(server, ['new']);
    other.send({ type: 'MESSAGE', seq: 1, id: 'yours', room: 'new', data: 0 });
    await other.next('ACK');
    expect((await back.messages('room:new', 1)).map((m) => m.id)).toEqual(['yours']);
    // Joining that room now starts at its end: what was published before is not this session's.
    back.send({ type: 'JOIN_ROOM', seq: 1, room: 'old' });
    await back.next('ROOM_JOINED_ACK');
    publisher.send({ type: 'MESSAGE', seq: 2, id: 'after-join', room: 'old', data: 1 });
    await publisher.next('ACK');
    expect((await back.messages('room:old', 1)).map((m) => m.id)).toEqual(['after-join']);
    expect(back.received.filter((f) => f.type === 'NEW_MESSAGE' && f.stream === 'room:old').map((f) => (f as { id: string }).id)).toEqual(['after-join']);
  });
});
