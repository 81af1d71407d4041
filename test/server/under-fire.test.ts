import { afterEach, describe, expect, it } from 'vitest';
import type { NewMessageFrame } from '../../src/protocol/index.js';
import { TestClient, connectNew, startServer, teardown, until } from './helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';

afterEach(teardown);

async function resume(server: ReferenceServer, sessionId: string, token: string, positions: Record<string, { epoch: string; offset: number }>) {
  const client = await TestClient.open(server.url);
  client.send({ type: 'RECONNECT', v: 1, sessionId, resumeToken: token, positions, lastAckedSeq: 0 });
  const recovered = await client.next('STATE_RECOVERED');
  return { client, recovered };
}

describe('under fire', () => {
  it('cuts sender and receiver repeatedly while messages flow: every id once, in order', async () => {
    const server = await startServer();
    const first = await connectNew(server, ['fire']);
    const second = await connectNew(server, ['fire']);
    let sender = first.client;
    let receiver = second.client;
    let senderToken = first.session.resumeToken;
    let receiverToken = second.session.resumeToken;
    const epoch = first.session.rooms.fire!.epoch;
    const total = 400;
    const got: NewMessageFrame[] = [];
    const drain = (client: TestClient) => {
      for (const f of client.inbox.splice(0)) if (f.type === 'NEW_MESSAGE' && f.stream === 'room:fire') got.push(f);
    };
    let nextSeq = 1;
    // Seven cut rounds of 50; the last 50 go out on the final connection.
    for (let round = 0; round < 7; round++) {
      const end = Math.min(total, nextSeq + 49);
      for (let seq = nextSeq; seq <= end; seq++) sender.send({ type: 'MESSAGE', seq, id: `m${seq}`, room: 'fire', data: seq });
      nextSeq = end + 1;
      // Cut while part of the burst is still unacknowledged.
      const s = sender;
      await until(() => s.received.some((f) => f.type === 'ACK' && f.seq >= end - 25), 'some acks');
      sender.ws.terminate();
      receiver.ws.terminate();
      await Promise.all([sender.closed, receiver.closed]);
      drain(receiver);

      const position = got.length > 0 ? got[got.length - 1]!.offset : 0;
      const r = await resume(server, second.session.sessionId, receiverToken, { 'room:fire': { epoch, offset: position } });
      expect(r.recovered.recovered).toBe(true);
      receiver = r.client;
      receiverToken = r.recovered.resumeToken;
      const s2 = await resume(server, first.session.sessionId, senderToken, {});
      sender = s2.client;
      senderToken = s2.recovered.resumeToken;
      // Re-send everything not processed yet, in order (what a client's offline queue does).
      for (let seq = s2.recovered.lastSeq + 1; seq < nextSeq; seq++) sender.send({ type: 'MESSAGE', seq, id: `m${seq}`, room: 'fire', data: seq });
    }
    for (let seq = nextSeq; seq <= total; seq++) sender.send({ type: 'MESSAGE', seq, id: `m${seq}`, room: 'fire', data: seq });
    const finalSender = sender;
    await until(() => finalSender.received.some((f) => f.type === 'ACK' && f.seq === total), 'the last ack', 10_000);
    const finalReceiver = receiver;
    await until(() => {
      drain(finalReceiver);
      return got.length >= total;
    }, 'every message received', 10_000);
    finalReceiver.send({ type: 'PING', t: 0 });
    await finalReceiver.next('PONG');
    drain(finalReceiver);
    expect(got.map((m) => m.id)).toEqual(Array.from({ length: total }, (_, i) => `m${i + 1}`));
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect((await server.store.info('room:fire')).lastOffset).toBe(total);
  });
});
