/**
 * `send()` skips the schema walk for a plain room message (valid by construction, the room
 * name checked once): everything the schema refuses is still refused, with its coded error,
 * before anything is queued or sent; `sent` events and `stats.messagesOut` are unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingWebSocket } from '../../src/client/reconnecting-websocket.js';
import type { ResilientSocketError } from '../../src/protocol/index.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { connectedOnFake, settle } from './fakes.js';

const open: ReconnectingWebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) if (ws.status !== 'closed') ws.close();
});

async function connected(storage?: MemoryStorage) {
  const t = await connectedOnFake(storage ? { storage } : {});
  open.push(t.ws);
  return t;
}

const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: ResilientSocketError) => e.code);

describe('send() fast path', () => {
  it.each([['the default storage', undefined], ['a storage someone reads', new MemoryStorage()]] as const)('refuses what the schema refuses, even right after the same room was accepted (%s)', async (_, storage) => {
    const t = await connected(storage);
    void t.ws.send('ok', { room: 'r' }).catch(() => {});
    const refused = await Promise.all([
      outcome(t.ws.send('x', { room: 'a b' })),
      outcome(t.ws.send('x', { room: '__proto__' })),
      outcome(t.ws.send('x', { room: 'r', id: '' })),
      outcome(t.ws.send('x', { room: 'r', id: 'i'.repeat(129) })),
      outcome(t.ws.send(() => 1, { room: 'r' })),
      outcome(t.ws.send(undefined, { room: 'r' })),
      outcome(t.ws.send('x', { room: 'r', to: 's2' })),
      outcome(t.ws.send('x', { room: 'x'.repeat(129) })),
    ]);
    expect(refused).toEqual(Array(8).fill('ERR_BAD_FRAME'));
    await settle();
    // Only the valid one was queued and sent, with seq 1.
    expect(t.socket.framesOf('MESSAGE').map((f) => [f.seq, f.room, f.data])).toEqual([[1, 'r', 'ok']]);
    expect(t.ws.stats.queueLength).toBe(1);
  });

  it('sends, emits sent, resolves and counts messagesOut as before', async () => {
    const t = await connected();
    const sent: unknown[] = [];
    t.ws.on('sent', (s) => sent.push([s.kind, s.id, s.offset]));
    const results = [t.ws.send('a', { room: 'r', id: 'a' }), t.ws.send('b', { room: 'r', id: 'b' }), t.ws.send('c', { id: 'c' })];
    await settle();
    expect(t.socket.framesOf('MESSAGE').map((f) => [f.seq, f.id])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    t.socket.receive({ type: 'ACK', seq: 1, offset: 1 });
    t.socket.receive({ type: 'NEW_MESSAGE', stream: 'room:r', epoch: 'e1', offset: 2, room: 'r', from: 's1', id: 'b', data: 'b', ts: 1, ack: 2 });
    t.socket.receive({ type: 'ACK', seq: 3 });
    expect(await Promise.all(results)).toEqual([{ id: 'a', offset: 1 }, { id: 'b', offset: 2 }, { id: 'c' }]);
    expect(sent).toEqual([['message', 'a', 1], ['message', 'b', 2], ['message', 'c', undefined]]);
    expect(t.ws.stats.messagesOut).toBe(3);
  });
});
