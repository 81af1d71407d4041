/**
 * Room names that are members of `Object.prototype` are refused: room names key plain objects
 * (session records, handshake answers), where `__proto__` would replace the prototype.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ROOM_NAME, decodeClientFrame } from '../../src/protocol/index.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

const forbidden = ['__proto__', 'constructor', 'prototype'];

describe('room names', () => {
  it('the codec refuses prototype member names and accepts names that merely contain them', () => {
    for (const room of forbidden) {
      expect(ROOM_NAME.test(room)).toBe(false);
      expect(decodeClientFrame(JSON.stringify({ type: 'JOIN_ROOM', seq: 1, room }))).toMatchObject({ ok: false, code: 'ERR_BAD_FRAME' });
      expect(decodeClientFrame(JSON.stringify({ type: 'HELLO', v: 1, rooms: ['a', room] }))).toMatchObject({ ok: false, code: 'ERR_BAD_FRAME' });
    }
    for (const room of ['__proto__x', 'my-constructor', 'prototypes', 'a/__proto__']) expect(ROOM_NAME.test(room)).toBe(true);
  });

  it('the server refuses a join of __proto__ and a HELLO asking for it, and the session keeps its rooms', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['a']);
    client.send({ type: 'JOIN_ROOM', seq: 1, room: '__proto__' });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_BAD_FRAME' });
    client.send({ type: 'JOIN_ROOM', seq: 1, room: 'b' });
    expect(await client.next('ROOM_JOINED_ACK')).toMatchObject({ seq: 1, room: 'b' });
    const record = await server.store.getSession(session.sessionId);
    expect(Object.getPrototypeOf(record!.rooms)).toBe(Object.prototype);
    expect(Object.keys(record!.rooms).sort()).toEqual(['a', 'b']);

    const other = await TestClient.open(server.url);
    other.send({ type: 'HELLO', v: 1, rooms: ['__proto__', 'a'] });
    expect(await other.next('ERROR')).toMatchObject({ code: 'ERR_BAD_FRAME', fatal: true });
    expect((await other.closed).code).toBe(4000);
    await expect(server.publish('__proto__', 1)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});
