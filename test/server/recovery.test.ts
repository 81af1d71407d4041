import { afterEach, describe, expect, it } from 'vitest';
import type { Positions } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/server/index.js';
import type { SessionRecord } from '../../src/server/index.js';
import { TestClient, connectNew, startServer, teardown, until } from './helpers.js';
import type { ReferenceServer } from '../../src/server/index.js';

afterEach(teardown);

async function reconnect(server: ReferenceServer, sessionId: string, resumeToken: string, positions: Positions = {}) {
  const client = await TestClient.open(server.url);
  client.send({ type: 'RECONNECT', v: 1, sessionId, resumeToken, positions, lastAckedSeq: 0 });
  return client;
}

describe('recovery', () => {
  it('replays exactly the messages missed after a cut, in order, then goes live', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['lobby']);
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) ids.push((await server.publish('lobby', i)).id);
    const seen = await client.messages('room:lobby', 3);
    expect(seen.map((m) => m.id)).toEqual(ids);
    const epoch = seen[0]!.epoch;
    client.ws.terminate();
    await client.closed;

    const missed: string[] = [];
    for (let i = 4; i <= 8; i++) missed.push((await server.publish('lobby', i)).id);
    const back = await reconnect(server, session.sessionId, session.resumeToken, { 'room:lobby': { epoch, offset: 3 } });
    const recovered = await back.next('STATE_RECOVERED');
    expect(recovered).toMatchObject({ recovered: true, lastSeq: 0, rooms: { lobby: { stream: 'room:lobby', epoch, offset: 8 } } });
    const replayed = await back.messages('room:lobby', 5);
    expect(replayed.map((m) => m.id)).toEqual(missed);
    expect(replayed.every((m) => m.replay === true)).toBe(true);
    expect((await back.next('REPLAY_DONE')).replayed).toBe(5);
    const live = await server.publish('lobby', 9);
    const next = await back.next('NEW_MESSAGE');
    expect([next.id, next.replay]).toEqual([live.id, undefined]);
  });

  it('loses and doubles nothing when messages are published during the replay', async () => {
    const server = await startServer({ retention: { maxCount: 5000 } });
    const { client, session } = await connectNew(server, ['busy']);
    const epoch = session.rooms.busy!.epoch;
    client.ws.terminate();
    await client.closed;
    const published: string[] = [];
    for (let i = 0; i < 1500; i++) published.push((await server.publish('busy', i)).id);

    const back = await reconnect(server, session.sessionId, session.resumeToken, { 'room:busy': { epoch, offset: 0 } });
    // Publish concurrently with the replay: each append runs while the server reads history.
    const concurrent = (async () => {
      for (let i = 0; i < 300; i++) {
        published.push((await server.publish('busy', `live-${i}`)).id);
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    await back.next('STATE_RECOVERED');
    await concurrent;
    const got = await back.messages('room:busy', 1800, 15_000);
    expect(got.map((m) => m.id)).toEqual(published);
    expect(got.map((m) => m.offset)).toEqual(published.map((_, i) => i + 1));
    await back.next('REPLAY_DONE');
    back.send({ type: 'PING', t: 0 });
    await back.next('PONG');
    expect(back.inbox.filter((f) => f.type === 'NEW_MESSAGE')).toHaveLength(0);
  });

  it('delivers entries appended between the subscription and each history read once, after the replay', async () => {
    const inner = new MemoryStore();
    let injected = 0;
    const injectedIds: string[] = [];
    // Every history read first appends a live entry: the window the replay gate must cover.
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'read') {
          return async (stream: string, after: number, limit: number) => {
            const inject = async () => {
              injected++;
              const r = await target.append(stream, { id: `during-${injected}`, from: null, user: null, data: injected }, { maxCount: 1000, maxAgeMs: 3_600_000 });
              if (r.status === 'appended') injectedIds.push(r.entry.id);
            };
            // Odd reads: appended before the read (replayed, the live copy dropped); even reads:
            // appended after it (buffered live, delivered after the replay).
            if (stream === 'room:gate' && injected < 4 && injected % 2 === 0) await inject();
            const result = await target.read(stream, after, limit);
            if (stream === 'room:gate' && injected < 4 && injected % 2 === 1) await inject();
            return result;
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const server = await startServer({ store });
    const { client, session } = await connectNew(server, ['gate']);
    const epoch = session.rooms.gate!.epoch;
    client.ws.terminate();
    await client.closed;
    const before: string[] = [];
    for (let i = 0; i < 450; i++) before.push((await server.publish('gate', i)).id);
    const back = await reconnect(server, session.sessionId, session.resumeToken, { 'room:gate': { epoch, offset: 0 } });
    await back.next('STATE_RECOVERED');
    const expected = [...before];
    await until(() => injected === 4 || back.inbox.some((f) => f.type === 'REPLAY_DONE'), 'replay done');
    const got = await back.messages('room:gate', 450 + injected);
    expected.push(...injectedIds);
    expect(got.map((m) => m.id).sort()).toEqual([...expected].sort());
    expect(got.map((m) => m.offset)).toEqual(got.map((_, i) => i + 1));
    await back.next('REPLAY_DONE');
    back.send({ type: 'PING', t: 0 });
    await back.next('PONG');
    expect(back.inbox.filter((f) => f.type === 'NEW_MESSAGE')).toHaveLength(0);
    await inner.close();
  });

  it('recovers a client that received nothing before the drop (no positions sent)', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['quiet']);
    client.ws.terminate();
    await client.closed;
    const ids = [(await server.publish('quiet', 'a')).id, (await server.publish('quiet', 'b')).id];
    const direct = await server.sendTo(session.sessionId, 'dm');
    const back = await reconnect(server, session.sessionId, session.resumeToken);
    expect((await back.next('STATE_RECOVERED')).recovered).toBe(true);
    expect((await back.messages('room:quiet', 2)).map((m) => m.id)).toEqual(ids);
    expect((await back.messages(`session:${session.sessionId}`, 1))[0]!.id).toBe(direct.id);
    expect((await back.next('REPLAY_DONE')).replayed).toBe(3);
  });

  it('uses acknowledged positions when the client sends none', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['acked']);
    const epoch = session.rooms.acked!.epoch;
    for (let i = 1; i <= 4; i++) await server.publish('acked', i);
    await client.messages('room:acked', 4);
    client.send({ type: 'POSITION_ACK', positions: { 'room:acked': { epoch, offset: 4 } } });
    await until(async () => (await server.store.getSession(session.sessionId))?.positions['room:acked']?.offset === 4, 'positions stored');
    client.ws.terminate();
    await client.closed;
    const missed = (await server.publish('acked', 5)).id;
    const back = await reconnect(server, session.sessionId, session.resumeToken);
    await back.next('STATE_RECOVERED');
    expect((await back.messages('room:acked', 1))[0]!.id).toBe(missed);
    expect((await back.next('REPLAY_DONE')).replayed).toBe(1);
  });

  it('reports a history gap when retention no longer covers the missed messages', async () => {
    const server = await startServer({ retention: { maxCount: 3 } });
    const { client, session } = await connectNew(server, ['small']);
    client.ws.terminate();
    await client.closed;
    for (let i = 1; i <= 10; i++) await server.publish('small', i);
    const back = await reconnect(server, session.sessionId, session.resumeToken);
    const recovered = await back.next('STATE_RECOVERED');
    expect(recovered.recovered).toBe(false);
    expect(recovered.reason).toBe('history_gap');
    // Offsets 1..7 are gone; the retained 8..10 are still replayed.
    expect(recovered.gaps).toEqual([{ stream: 'room:small', reason: 'history_gap', from: 1, to: 7 }]);
    expect((await back.messages('room:small', 3)).map((m) => m.offset)).toEqual([8, 9, 10]);
    expect((await back.next('REPLAY_DONE')).replayed).toBe(3);
    const live = await server.publish('small', 11);
    expect((await back.next('NEW_MESSAGE')).id).toBe(live.id);
  });

  /**
   * A member of `room` that received its first message goes away; the room is then recreated
   * (its history and epoch deleted) and `count` messages are published into the new epoch; the
   * member resumes with its position in the old epoch.
   */
  async function recreatedWhileAway(server: Awaited<ReturnType<typeof startServer>>, room: string, count: number) {
    const { client, session } = await connectNew(server, [room]);
    const oldEpoch = session.rooms[room]!.epoch;
    await server.publish(room, 1);
    await client.messages(`room:${room}`, 1);
    client.ws.terminate();
    await client.closed;
    await server.store.deleteStream(`room:${room}`);
    const fresh: string[] = [];
    for (let i = 1; i <= count; i++) fresh.push((await server.publish(room, `new-${i}`)).id);
    const back = await reconnect(server, session.sessionId, session.resumeToken, { [`room:${room}`]: { epoch: oldEpoch, offset: 1 } });
    return { back, oldEpoch, fresh, recovered: await back.next('STATE_RECOVERED') };
  }

  it('reports epoch_changed when a stream lost its history', async () => {
    const { back, oldEpoch, fresh, recovered } = await recreatedWhileAway(await startServer(), 'lost', 2);
    expect(recovered.recovered).toBe(false);
    expect(recovered.reason).toBe('epoch_changed');
    // `from` in the old epoch (the first offset not received there), `to` in the new one: the
    // new epoch holds everything from its offset 1, so nothing of it is lost...
    expect(recovered.gaps).toEqual([{ stream: 'room:lost', reason: 'epoch_changed', from: 2, to: 0 }]);
    expect(recovered.rooms.lost!.epoch).not.toBe(oldEpoch);
    // ...and all of it is replayed, in order, once
    const replayed = await back.messages('room:lost', 2);
    expect(replayed.map((m) => m.id)).toEqual(fresh);
    expect(replayed.every((m) => m.replay && m.epoch === recovered.rooms.lost!.epoch)).toBe(true);
    expect((await back.next('REPLAY_DONE')).replayed).toBe(2);
  });

  it('replays what a recreated stream retains and reports only what it trimmed', async () => {
    const { back, fresh, recovered } = await recreatedWhileAway(await startServer({ retention: { maxCount: 2 } }), 'gone', 3);
    expect(recovered.gaps).toEqual([{ stream: 'room:gone', reason: 'epoch_changed', from: 2, to: 1 }]);
    expect((await back.messages('room:gone', 2)).map((m) => m.id)).toEqual(fresh.slice(1));
    expect((await back.next('REPLAY_DONE')).replayed).toBe(2);
  });

  it('answers RESYNC with the missing range, or ERR_HISTORY_GAP', async () => {
    const server = await startServer({ retention: { maxCount: 4 } });
    const { client, session } = await connectNew(server, ['rs']);
    const epoch = session.rooms.rs!.epoch;
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push((await server.publish('rs', i)).id);
    await client.messages('room:rs', 4);
    client.send({ type: 'RESYNC', stream: 'room:rs', epoch, from: 2 });
    const again = await client.messages('room:rs', 3);
    expect(again.map((m) => m.id)).toEqual(ids.slice(1));
    expect(again.every((m) => m.replay)).toBe(true);
    for (let i = 5; i <= 8; i++) await server.publish('rs', i);
    await client.messages('room:rs', 4);
    client.send({ type: 'RESYNC', stream: 'room:rs', epoch, from: 1 });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_HISTORY_GAP', stream: 'room:rs' });
  });

  it('keeps lastSeq across a resume so a re-sent message is not processed twice', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['x']);
    client.send({ type: 'MESSAGE', seq: 1, id: 'm1', room: 'x', data: 1 });
    await client.next('ACK');
    client.ws.terminate();
    await client.closed;
    const back = await reconnect(server, session.sessionId, session.resumeToken, { 'room:x': { epoch: session.rooms.x!.epoch, offset: 1 } });
    expect((await back.next('STATE_RECOVERED')).lastSeq).toBe(1);
    await back.next('REPLAY_DONE');
    back.send({ type: 'MESSAGE', seq: 1, id: 'm1', room: 'x', data: 1 });
    expect(await back.next('ACK')).toEqual({ type: 'ACK', seq: 1 });
    expect((await server.store.info('room:x')).lastOffset).toBe(1);
  });

  it('expires a detached session after its TTL and calls sessionExpired', async () => {
    const expired: Array<{ id: string; record: SessionRecord | null; reason: string }> = [];
    const server = await startServer({ sessionTtl: 50, sweepInterval: 20, sessionExpired: (id, record, reason) => void expired.push({ id, record, reason }) });
    const { client, session } = await connectNew(server, ['r']);
    await server.sendTo(session.sessionId, 'kept for a resume');
    client.close();
    await client.closed;
    await until(() => expired.length === 1, 'the session expired');
    expect(expired[0]).toMatchObject({ id: session.sessionId, reason: 'expired', record: { id: session.sessionId, rooms: { r: {} } } });
    expect((await server.store.info(`session:${session.sessionId}`)).lastOffset).toBe(0);
    const back = await reconnect(server, session.sessionId, session.resumeToken);
    expect((await back.next('NEW_SESSION')).reason).toBe('expired');
  });

  it('two connections racing to resume one session with one token: the later takes it over, its token keeps working', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server, ['race']);
    client.ws.terminate();
    await client.closed;
    const [a, b] = await Promise.all([TestClient.open(server.url), TestClient.open(server.url)]);
    for (const c of [a, b]) c.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const answers = await Promise.all([a, b].map((c) => c.take((f): f is Extract<typeof f, { type: 'STATE_RECOVERED' | 'NEW_SESSION' }> => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'a handshake answer')));
    // The presented token stays valid until the rotated one is used, so both resume, one after
    // the other: the first is taken over (4002) by the second, which holds the session.
    expect(answers.map((f) => f.type)).toEqual(['STATE_RECOVERED', 'STATE_RECOVERED']);
    const first = await Promise.race([a.closed.then((c) => ({ c, who: 0 })), b.closed.then((c) => ({ c, who: 1 }))]);
    expect(first.c.code).toBe(4002);
    const holder = first.who === 0 ? b : a;
    const token = answers[first.who === 0 ? 1 : 0]!.resumeToken;
    holder.ws.terminate();
    await holder.closed;
    const back = await reconnect(server, session.sessionId, token);
    expect((await back.next('STATE_RECOVERED')).sessionId).toBe(session.sessionId);
  });

  it('two instances racing to resume one session: one holds it and its token keeps working', async () => {
    const store = new MemoryStore();
    const x = await startServer({ store });
    const y = await startServer({ store });
    for (let round = 0; round < 10; round++) {
      const { client, session } = await connectNew(x, ['race']);
      client.ws.terminate();
      await client.closed;
      const [a, b] = await Promise.all([TestClient.open(x.url), TestClient.open(y.url)]);
      for (const c of [a, b]) c.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
      const answers = await Promise.all([a, b].map((c) => c.take((f): f is Extract<typeof f, { type: 'STATE_RECOVERED' | 'NEW_SESSION' }> => f.type === 'STATE_RECOVERED' || f.type === 'NEW_SESSION', 'a handshake answer')));
      const holders = [a, b].filter((_, i) => answers[i]!.type === 'STATE_RECOVERED');
      expect(holders.length).toBeGreaterThanOrEqual(1);
      await until(() => holders.filter((c) => c.ws.readyState === c.ws.OPEN).length === 1, 'one connection holds the session');
      const winner = holders.find((c) => c.ws.readyState === c.ws.OPEN)!;
      const token = (answers[[a, b].indexOf(winner)] as { resumeToken: string }).resumeToken;
      for (const c of [a, b]) c.ws.terminate();
      await Promise.all([a.closed, b.closed]);
      const back = await reconnect(x, session.sessionId, token);
      expect((await back.next('STATE_RECOVERED')).sessionId).toBe(session.sessionId);
      back.ws.terminate();
    }
    await teardown();
    await store.close();
  });

  it('keeps the token of the last instance to attach when a loser rotated after it', async () => {
    const inner = new MemoryStore();
    const delayed = (method: string, ms: number) =>
      new Proxy(inner, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const bound = (value as (...a: unknown[]) => unknown).bind(target);
          if (prop !== method) return bound;
          return async (...args: unknown[]) => {
            await new Promise((r) => setTimeout(r, ms));
            return bound(...args);
          };
        },
      });
    // Both read the session at once; x rotates late but attaches before y, which attaches last.
    const x = await startServer({ store: delayed('updateSession', 60) });
    const y = await startServer({ store: delayed('attachSession', 200) });
    const { client, session } = await connectNew(x, ['race']);
    client.ws.terminate();
    await client.closed;
    const [a, b] = await Promise.all([TestClient.open(x.url), TestClient.open(y.url)]);
    const frame = { type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 } as const;
    a.send(frame);
    b.send(frame);
    const loser = await a.next('STATE_RECOVERED');
    const winner = await b.next('STATE_RECOVERED');
    expect((await a.closed).code).toBe(4002);
    expect(loser.resumeToken).not.toBe(winner.resumeToken);
    b.ws.terminate();
    await b.closed;
    const back = await reconnect(y, session.sessionId, winner.resumeToken);
    expect((await back.next('STATE_RECOVERED')).sessionId).toBe(session.sessionId);
    await teardown();
    await inner.close();
  });

  it('ends the session at once on BYE', async () => {
    const ended: string[] = [];
    const server = await startServer({ sessionExpired: (id, _record, reason) => void ended.push(`${id}:${reason}`) });
    const { client, session } = await connectNew(server);
    client.send({ type: 'BYE' });
    expect((await client.closed).code).toBe(1000);
    expect(ended).toEqual([`${session.sessionId}:bye`]);
    expect(await server.store.getSession(session.sessionId)).toBeNull();
  });

  it('resumes a user-bound session only for the same user', async () => {
    const server = await startServer({ authenticate: ({ credentials }) => (credentials === 'bad' ? false : typeof credentials === 'string' ? credentials : null) });
    const first = await TestClient.open(server.url);
    const session = await first.hello(undefined, 'alice');
    first.close();
    await first.closed;
    const other = await TestClient.open(server.url);
    other.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0, auth: 'bob' });
    const answer = await other.next('NEW_SESSION');
    expect(answer).toMatchObject({ reason: 'user_mismatch', user: 'bob' });
    const refused = await TestClient.open(server.url);
    refused.send({ type: 'HELLO', v: 1, auth: 'bad' });
    expect((await refused.next('ERROR')).code).toBe('ERR_UNAUTHORIZED');
    expect((await refused.closed).code).toBe(4001);
  });
});
