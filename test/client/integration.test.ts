/**
 * The client against the real reference server (port 0): connect, rooms, broadcast, cuts,
 * resume, reloads, gaps. Guarantees are checked by comparing message ids.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/node/file-storage.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { StorageAdapter } from '../../src/storage/storage-adapter.js';
import type { RecoveryInfo, StreamGap } from '../../src/index.js';
import { connect, forget, onTeardown, startServer, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

describe('client against the reference server', () => {
  it('connects, joins and broadcasts between two clients; sends resolve on the server ack', async () => {
    const server = await startServer();
    const a = connect(server.url);
    const b = connect(server.url);
    await Promise.all([a.ws.join('lobby'), b.ws.join('lobby')]);
    expect(a.ws.status).toBe('open');
    expect(a.ws.mode).toBe('protocol');
    const results = await Promise.all([a.ws.send({ n: 1 }, { room: 'lobby' }), a.ws.send({ n: 2 }, { room: 'lobby' })]);
    expect(results.map((r) => typeof r?.offset)).toEqual(['number', 'number']);
    await waitFor(() => b.messages.length === 2 && a.messages.length === 2, 'both messages on both clients');
    expect(b.ids('lobby')).toEqual(results.map((r) => r!.id));
    expect(b.messages.map((m) => [m.data, m.self, m.replayed, m.from])).toEqual([
      [{ n: 1 }, false, false, a.ws.sessionId],
      [{ n: 2 }, false, false, a.ws.sessionId],
    ]);
    expect(a.messages.every((m) => m.self)).toBe(true);
    const stats = a.ws.stats;
    expect(stats.messagesOut).toBe(2);
    expect(stats.queueLength).toBe(0);
  });

  it('comes back by itself after the server cuts the connection, resuming the same session', async () => {
    const server = await startServer({ faults: true });
    const a = connect(server.url);
    await a.ws.join('r');
    const sessionId = a.ws.sessionId!;
    const statuses: string[] = [];
    a.ws.on('status', (s) => statuses.push(s.to));
    const back = a.opened();
    await server.disconnect(sessionId, 4008);
    await back;
    expect(a.ws.sessionId).toBe(sessionId);
    expect(a.ws.recovered).toBe(true);
    expect(statuses).toEqual(['reconnecting', 'open']);
    expect(a.ws.stats.reconnects).toBe(1);
  });

  it('direct messages reach the target session, also those sent while it was away', async () => {
    const server = await startServer();
    let reachable = true;
    const a = connect(server.url);
    const b = connect(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'));
    await Promise.all([a.opened(), b.opened()]);
    const target = b.ws.sessionId!;
    const live = (await a.ws.send('live', { to: target }))!.id;
    await waitFor(() => b.messages.length === 1, 'the live direct message');
    reachable = false;
    await server.disconnect(target, 4008);
    const missed = (await a.ws.send('missed', { to: target }))!.id;
    reachable = true;
    b.ws.reconnect();
    await waitFor(() => b.messages.length === 2, 'the missed direct message');
    expect(b.messages.map((m) => [m.id, m.stream, m.from, m.replayed])).toEqual([
      [live, `session:${target}`, a.ws.sessionId, false],
      [missed, `session:${target}`, a.ws.sessionId, true],
    ]);
    await expect(a.ws.send('nobody', { to: 'no-such-session' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TARGET' });
  });

  it('survives a server restart that lost everything: new session, rooms re-joined, the lost history reported', async () => {
    const first = await startServer();
    const port = first.port;
    const a = connect(first.url);
    const b = connect(first.url);
    await Promise.all([a.ws.join('phoenix'), b.ws.join('phoenix')]);
    await b.ws.send('before', { room: 'phoenix' });
    await waitFor(() => a.messages.length === 1, 'the first message');
    const gaps: StreamGap[] = [];
    a.ws.on('gap', (g) => gaps.push(g));
    await first.close();
    const second = await startServer({ port });
    const recovered = await new Promise<RecoveryInfo>((resolve) => a.ws.once('recovered', resolve));
    expect(recovered).toMatchObject({ recovered: false, reason: 'unknown' });
    await waitFor(() => b.ws.status === 'open' && a.ws.status === 'open' && gaps.length > 0, 'both back, the gap reported');
    expect(gaps[0]).toMatchObject({ stream: 'room:phoenix', reason: 'epoch_changed' });
    const after = (await b.ws.send('after', { room: 'phoenix' }))!.id;
    await waitFor(() => a.ids('phoenix').includes(after), 'a message in the new epoch');
    expect(a.messages.map((m) => m.data)).toEqual(['before', 'after']);
    expect(second.connectionCount).toBe(2);
  });

  it('resumes into a recreated stream: the new epoch is replayed in full, the old epoch reported', async () => {
    const server = await startServer({ faults: true });
    let reachable = true;
    const a = connect(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'), { initialReconnectDelay: 20 });
    await a.ws.join('reborn');
    await server.publish('reborn', 'before');
    await waitFor(() => a.messages.length === 1, 'the first message');
    const sessionId = a.ws.sessionId!;
    const gaps: StreamGap[] = [];
    a.ws.on('gap', (g) => gaps.push(g));
    reachable = false;
    await server.disconnect(sessionId, 4008);
    await waitFor(() => a.ws.status !== 'open', 'the client to be away');
    // The room's history and epoch go (a store that lost it, or forgot it as idle); two messages
    // are published into its new epoch while the client is away.
    await server.store.deleteStream('room:reborn');
    const fresh = [(await server.publish('reborn', 'new-1')).id, (await server.publish('reborn', 'new-2')).id];
    const recovered = new Promise<RecoveryInfo>((resolve) => a.ws.once('recovered', resolve));
    reachable = true;
    expect(await recovered).toMatchObject({ recovered: false, reason: 'epoch_changed', replayed: 2 });
    expect(a.ws.sessionId).toBe(sessionId);
    expect(gaps).toEqual([expect.objectContaining({ stream: 'room:reborn', reason: 'epoch_changed', from: 2, to: 0 })]);
    expect(a.ids('reborn').slice(1)).toEqual(fresh);
    expect(a.messages.map((m) => [m.data, m.replayed])).toEqual([['before', false], ['new-1', true], ['new-2', true]]);
    const live = (await server.publish('reborn', 'live')).id;
    await waitFor(() => a.ids('reborn').includes(live), 'a live message after the replay');
    expect(a.ids('reborn').slice(1)).toEqual([...fresh, live]);
  });

  it('close() ends the session on the server (BYE) and never reconnects', async () => {
    const server = await startServer();
    const a = connect(server.url);
    await a.opened();
    const sessionId = a.ws.sessionId!;
    a.ws.close();
    await waitFor(() => a.ws.status === 'closed', 'closed');
    await waitFor(() => server.connectionCount === 0, 'the server to see the close');
    expect(await server.store.getSession(sessionId)).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.connectionCount).toBe(0);
    expect(a.ws.status).toBe('closed');
  });

  it('loses nothing and doubles nothing in either direction under repeated cuts', async () => {
    const server = await startServer({ faults: true, maxMessagesPerSecond: 100_000 });
    const a = connect(server.url);
    const b = connect(server.url);
    await Promise.all([a.ws.join('fire'), b.ws.join('fire')]);
    const N = 150;
    const sentA: string[] = [];
    const sentB: string[] = [];
    const sends: Array<Promise<unknown>> = [];
    let cuts = 0;
    for (let i = 0; i < N; i++) {
      sends.push(a.ws.send({ from: 'a', i }, { room: 'fire', id: `a-${i}` }).then(() => sentA.push(`a-${i}`)));
      sends.push(b.ws.send({ from: 'b', i }, { room: 'fire', id: `b-${i}` }).then(() => sentB.push(`b-${i}`)));
      if (i % 15 === 7) {
        // Cut one side or the other while frames are in flight both ways.
        const victim = i % 2 === 0 ? a : b;
        if (victim.ws.status === 'open') {
          cuts++;
          await server.disconnect(victim.ws.sessionId!, 4008);
        }
      }
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(sends);
    await waitFor(() => a.messages.length >= 2 * N && b.messages.length >= 2 * N, 'every message on both sides', 20_000);
    await new Promise((r) => setTimeout(r, 50)); // anything doubled would show up now
    for (const client of [a, b]) {
      const ids = client.ids('fire');
      expect(ids).toHaveLength(2 * N);
      expect(new Set(ids).size).toBe(2 * N);
      // Each sender's messages arrive in the order they were sent.
      expect(ids.filter((id) => id.startsWith('a-'))).toEqual(Array.from({ length: N }, (_, i) => `a-${i}`));
      expect(ids.filter((id) => id.startsWith('b-'))).toEqual(Array.from({ length: N }, (_, i) => `b-${i}`));
      // And the stream offsets are consecutive: no hole, no repeat.
      const offsets = client.messages.map((m) => m.offset!);
      expect(offsets).toEqual(Array.from({ length: 2 * N }, (_, i) => offsets[0]! + i));
    }
    expect(cuts).toBeGreaterThan(3);
    expect(a.ws.stats.reconnects + b.ws.stats.reconnects).toBeGreaterThan(3);
    expect(new Set(sentA).size).toBe(N);
  });

  it('recovers messages published while away even when it had received nothing before the drop', async () => {
    const server = await startServer();
    let reachable = true;
    const a = connect(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'));
    const b = connect(server.url);
    await Promise.all([a.ws.join('quiet'), b.ws.join('quiet')]);
    reachable = false;
    await server.disconnect(a.ws.sessionId!, 4008);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await b.ws.send(i, { room: 'quiet' }))!.id);
    const recovered = new Promise<RecoveryInfo>((resolve) => a.ws.once('recovered', resolve));
    reachable = true;
    a.ws.reconnect();
    const info = await recovered;
    expect(info).toMatchObject({ recovered: true, replayed: 3, gaps: [] });
    expect(a.ids('quiet')).toEqual(ids);
    expect(a.messages.every((m) => m.replayed)).toBe(true);
  });

  it('reports an explicit gap when retention no longer covers what was missed, then goes on live', async () => {
    const server = await startServer({ retention: { maxCount: 3 } });
    let reachable = true;
    const a = connect(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'));
    const b = connect(server.url);
    await Promise.all([a.ws.join('small'), b.ws.join('small')]);
    reachable = false;
    await server.disconnect(a.ws.sessionId!, 4008);
    const sentWhileAway: string[] = [];
    for (let i = 0; i < 10; i++) sentWhileAway.push((await b.ws.send(i, { room: 'small' }))!.id);
    const gaps: StreamGap[] = [];
    a.ws.on('gap', (g) => gaps.push(g));
    const recovered = new Promise<RecoveryInfo>((resolve) => a.ws.once('recovered', resolve));
    reachable = true;
    a.ws.reconnect();
    const info = await recovered;
    expect(info.recovered).toBe(false);
    expect(info.reason).toBe('history_gap');
    // 10 sent, 3 retained: 1..7 are reported lost, the retained 8..10 still arrive, then live.
    expect(gaps).toEqual([expect.objectContaining({ stream: 'room:small', reason: 'history_gap', from: 1, to: 7 })]);
    const live = (await b.ws.send('after', { room: 'small' }))!.id;
    await waitFor(() => a.ids('small').includes(live), 'the live message');
    expect(a.ids('small')).toEqual([...sentWhileAway.slice(7), live]);
  });
});

describe('client restarts (a new instance on the same storage)', () => {
  async function reloadWithQueue(storage: () => StorageAdapter) {
    const server = await startServer();
    let reachable = true;
    const url = () => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable');
    const first = connect(url, { storage: storage() });
    const watcher = connect(server.url);
    await Promise.all([first.ws.join('reload'), watcher.ws.join('reload')]);
    const sessionId = first.ws.sessionId;
    reachable = false;
    await server.disconnect(sessionId!, 4008);
    await waitFor(() => first.ws.status === 'reconnecting', 'the drop');
    const pending = ['q1', 'q2', 'q3'].map((id) => first.ws.send(id, { room: 'reload', id }));
    await new Promise((r) => setTimeout(r, 50)); // persisted (coalesced write)
    // The process stops without ending the session.
    first.ws.close(1000, '', { endSession: false });
    forget(first.ws);
    await expect(pending[0]).rejects.toMatchObject({ code: 'ERR_CLOSED', details: { kept: true } });
    reachable = true;
    const second = connect(url, { storage: storage() });
    const restored: string[] = [];
    const sent: string[] = [];
    second.ws.on('restored', (items) => restored.push(...items.map((i) => i.id!)));
    second.ws.on('sent', (i) => i.restored && sent.push(i.id!));
    await waitFor(() => sent.length === 3, 'the restored messages acknowledged');
    expect(restored).toEqual(['q1', 'q2', 'q3']);
    expect(second.ws.sessionId).toBe(sessionId);
    expect(second.ws.recovered).toBe(true);
    await waitFor(() => watcher.ids('reload').length === 3, 'the watcher to get them');
    await new Promise((r) => setTimeout(r, 50));
    expect(watcher.ids('reload')).toEqual(['q1', 'q2', 'q3']);
  }

  it('FileStorage in a temp dir: resumes the session and sends what was left, once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rs-reload-'));
    onTeardown(() => rm(dir, { recursive: true, force: true }));
    await reloadWithQueue(() => new FileStorage(dir));
  });

  it('MemoryStorage shared between instances: the same', async () => {
    const shared = new MemoryStorage();
    await reloadWithQueue(() => shared);
  });

  async function resumeFails(setup: { ttl?: number; tamper?: boolean }, reasons: string[]) {
    const server = await startServer(setup.ttl ? { sessionTtl: setup.ttl, sweepInterval: 10 } : {});
    const storage = new MemoryStorage();
    let reachable = true;
    const url = () => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable');
    const first = connect(url, { storage });
    const other = connect(server.url);
    await Promise.all([first.ws.join('again'), other.ws.join('again')]);
    const before = (await other.ws.send('before', { room: 'again' }))!.id;
    await waitFor(() => first.ids('again').includes(before), 'the first message');
    reachable = false;
    await server.disconnect(first.ws.sessionId!, 4008);
    await waitFor(() => first.ws.status === 'reconnecting', 'the drop');
    void first.ws.send('queued', { room: 'again', id: 'queued-1' });
    await new Promise((r) => setTimeout(r, 30));
    first.ws.close(1000, '', { endSession: false });
    forget(first.ws);
    const missed = (await other.ws.send('missed', { room: 'again' }))!.id;
    if (setup.ttl) {
      await new Promise((r) => setTimeout(r, setup.ttl! * 3));
      await server.sweepExpiredSessions();
    }
    if (setup.tamper) {
      const key = storage.keys().find((k) => k.endsWith(':session'))!;
      const record = storage.get(key) as { session: { token: string } };
      record.session.token = 'A'.repeat(43);
      storage.set(key, record);
    }
    reachable = true;
    const second = connect(url, { storage });
    const info = await new Promise<RecoveryInfo>((resolve) => second.ws.once('recovered', resolve));
    expect(info.recovered).toBe(false);
    expect(reasons).toContain(info.reason);
    // A new session, yet the room is re-joined from the old position: the missed message is
    // replayed, and the queued one is delivered.
    await waitFor(() => other.ids('again').includes('queued-1'), 'the queued message');
    await waitFor(() => second.ids('again').includes(missed), 'the missed message');
    expect(second.ids('again').filter((id) => id === missed)).toHaveLength(1);
    expect(second.ids('again')).not.toContain(before);
  }

  it('an expired session: recovered false (expired, or unknown once swept), rooms re-joined, queue delivered', async () => {
    // The reference server forgets a swept session, so it answers `unknown` rather than `expired`.
    await resumeFails({ ttl: 50 }, ['expired', 'unknown']);
  });

  it('a wrong resume token: recovered false with reason token_rejected', async () => {
    await resumeFails({ tamper: true }, ['token_rejected']);
  });

  it('two live instances on one storage: the second takes the session over, the first stops with ERR_SESSION_TAKEN_OVER', async () => {
    const server = await startServer();
    const storage = new MemoryStorage();
    const first = connect(server.url, { storage });
    await first.opened();
    const second = connect(server.url, { storage });
    await second.opened();
    expect(second.ws.sessionId).toBe(first.ws.sessionId);
    await waitFor(() => first.ws.status === 'closed', 'the first to stop');
    expect(first.errors).toContain('ERR_SESSION_TAKEN_OVER');
    expect(second.ws.status).toBe('open');
  });

  it('stops with ERR_UNAUTHORIZED when authenticate refuses, and never reconnects by itself', async () => {
    let attempts = 0;
    const server = await startServer({
      authenticate: ({ credentials }) => {
        attempts++;
        return credentials === 'good' ? 'user-1' : false;
      },
    });
    const bad = connect(server.url, { auth: 'bad' });
    await waitFor(() => bad.ws.status === 'closed', 'the stop');
    expect(bad.errors).toContain('ERR_UNAUTHORIZED');
    await new Promise((r) => setTimeout(r, 100));
    expect(attempts).toBe(1);
    const good = connect(server.url, { auth: () => 'good' });
    await good.opened();
    // Refreshing credentials on the open connection (AUTH / AUTH_OK).
    await expect(good.ws.authenticate('good')).resolves.toBe('user-1');
  });
});
