/**
 * What the offline queue sends is what was queued: a stored operation that is not a valid one
 * (corrupt or foreign storage) is dropped with a coded error instead of being re-sent on every
 * reconnect; a payload whose toJSON encodes to nothing is refused at send(); and a renumbering
 * (new session) keeps the payload as it was sent, not as the application changed it afterwards.
 * (Review findings: the first two made the client reconnect in a loop — 120 opens in 1.5 s.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { OfflineQueue } from '../../src/client/offline-queue.js';
import { encodeFrame, utf8Length } from '../../src/protocol/encoding.js';
import type { SentInfo } from '../../src/client/events.js';
import type { Json } from '../../src/protocol/index.js';
import { connect, startServer, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

/** Storage holding a session record for sessionKey `k` whose queue is `items` (frame texts). */
function preload(items: string[]): MemoryStorage {
  const storage = new MemoryStorage();
  void storage.set('resilient-socket:k:session', {
    v: 1, clientId: 'c0', nextLocalId: 1, session: null, rooms: [],
    queue: { nextSeq: items.length + 1, nextKey: 1, lastAckedSeq: 0, items },
  });
  return storage;
}

describe('queue integrity', () => {
  for (const [bad, code] of [['{"type":"MESSAGE","seq":2,"id":"bad"}', 'ERR_BAD_FRAME'], ['{"type":"BYE","seq":2}', 'ERR_UNKNOWN_TYPE']] as const) {
    it(`a stored item that is not a valid operation is dropped with ${code}; the others are sent once: ${bad}`, async () => {
      const server = await startServer();
      const other = connect(server.url);
      await other.ws.join('r');
      const storage = preload(['{"type":"JOIN_ROOM","room":"r","seq":1}', bad, '{"type":"MESSAGE","id":"good","data":"x","room":"r","seq":3}']);
      const sent: SentInfo[] = [];
      const c = connect(server.url, { storage, sessionKey: 'k' });
      c.ws.on('sent', (s) => sent.push(s));
      await waitFor(() => other.ids('r').includes('good'), 'the good message in the room');
      await waitFor(() => sent.length === 3, 'every stored operation settled');
      expect(other.ids('r')).toEqual(['good']);
      expect(sent.filter((s) => s.error).map((s) => s.error!.code)).toEqual([code]);
      expect(c.opens).toHaveLength(1);
    });
  }

  it('send() of a payload whose toJSON encodes to nothing rejects with a coded error; the connection stays', async () => {
    const server = await startServer();
    const c = connect(server.url);
    await c.ws.join('r');
    await expect(c.ws.send({ toJSON: () => undefined } as unknown as Json, { room: 'r' })).rejects.toMatchObject({ code: 'ERR_BAD_FRAME' });
    expect((await c.ws.send({ toJSON: () => ({ fine: true }) } as unknown as Json, { room: 'r', id: 'ok' }))?.id).toBe('ok');
    expect(c.opens).toHaveLength(1);
  });

  it('after a renumbering the frame carries the payload as sent, not a later change of the object', () => {
    const q = new OfflineQueue({ maxLength: 10, maxBytes: 1e6 });
    const data = { n: 1 };
    const op = { type: 'MESSAGE' as const, id: 'm1', data };
    const text = encodeFrame({ ...op, seq: 1 });
    q.push(op, utf8Length(text), false, text);
    data.n = 2; // the application reuses its object after send()
    q.renumber([{ op: { type: 'JOIN_ROOM', room: 'a' }, bytes: 40 }]);
    const frames = q.snapshot().items.map((t) => JSON.parse(t as string) as { seq: number; data?: unknown });
    expect(frames.map((f) => f.seq)).toEqual([1, 2]);
    expect(frames[1]!.data).toEqual({ n: 1 });
  });
});
