/**
 * Versioned state end to end: the real client against the real reference server (port 0) with
 * the public `state` option. Exactly-once is checked by the ids the reducer lists.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { StateReconnectingWebSocket as ReconnectingWebSocket } from '../../src/client/state-reconnecting-websocket.js';
import { forget, startServer, teardownAll, waitFor } from '../client/integration-helpers.js';
import { counterOf, counterState, counterUnderCuts, frameSpy, stateClient } from './helpers.js';
import type { Counter } from './helpers.js';

afterEach(teardownAll);

const SCOPE = 'room:counter';

describe('room state shared by two clients', () => {
  it('both end at the server version and value, each event applied exactly once, across cuts of one client', async () => {
    const server = await startServer({ state: counterState() });
    let reachable = true;
    const a = stateClient(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'));
    const b = stateClient(server.url);
    await Promise.all([a.ws.join('counter'), b.ws.join('counter')]);

    // B keeps going while A is away; A queues its own events offline.
    const { sent, results } = await counterUnderCuts(a, b, SCOPE, {
      before: 5,
      perCut: 4,
      cut: () => server.disconnect(a.ws.sessionId!, 4008),
      setReachable: (up) => (reachable = up),
    });
    const final = await server.getState(SCOPE);
    expect(final.version).toBe(sent.length);
    // Every event acknowledged with a version produced its own version (an event whose ACK was
    // lost with the connection is settled by the resume, without one).
    const versions = results.map((r) => r.version).filter((v) => v !== undefined);
    expect(new Set(versions).size).toBe(versions.length);
    await waitFor(() => a.ws.getState(SCOPE)?.version === final.version && b.ws.getState(SCOPE)?.version === final.version, 'both clients at the final version');
    const value = final.value as unknown as Counter;
    expect([...value.ids].sort()).toEqual([...sent].sort());
    expect(value.count).toBe(sent.length);
    for (const t of [a, b]) {
      const c = counterOf(t, SCOPE);
      expect(c).toMatchObject({ confirmed: true, version: final.version, count: value.count });
      expect(c.ids).toEqual(value.ids);
      // Versions reported to the application never go back.
      const versions = t.changes.filter((ch) => ch.scope === SCOPE).map((ch) => ch.version);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    }
    // A's own events keep its order.
    const aIds = value.ids.filter((id) => id.startsWith('a'));
    expect(aIds).toEqual(sent.filter((id) => id.startsWith('a')));
    expect(a.changes.some((ch) => ch.scope === SCOPE && ch.source === 'recovery')).toBe(true);
  });

  it('a refused event rejects the promise with the ACK error code; later events still apply', async () => {
    const server = await startServer({ state: counterState() });
    const a = stateClient(server.url);
    await a.ws.join('counter');
    await expect(a.ws.dispatch(SCOPE, { refuse: true })).rejects.toMatchObject({ code: 'ERR_STATE_REJECTED' });
    await expect(a.ws.dispatch(SCOPE, { id: 'ok' })).resolves.toEqual({ version: 1 });
    await waitFor(() => a.ws.getState(SCOPE)?.version === 1, 'the accepted event');
    expect(counterOf(a, SCOPE).ids).toEqual(['ok']);
  });

  it('a server-side appendState reaches the members; a scope outside the session is refused', async () => {
    const server = await startServer({ state: counterState() });
    const a = stateClient(server.url);
    await a.ws.join('counter');
    await expect(server.appendState(SCOPE, { id: 'srv' })).resolves.toMatchObject({ version: 1 });
    await waitFor(() => a.ws.getState(SCOPE)?.version === 1, 'the server event');
    expect(counterOf(a, SCOPE).ids).toEqual(['srv']);
    await expect(a.ws.dispatch('room:elsewhere', { id: 'x' })).rejects.toMatchObject({ code: 'ERR_NOT_IN_ROOM' });
    await expect(server.appendState('nonsense', {})).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(server.appendState('session:nobody', {})).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TARGET' });
  });
});

describe('session state', () => {
  it('is private to the session, survives a cut, and restarts at the initial value with a new session', async () => {
    const server = await startServer({ state: counterState() });
    const a = stateClient(server.url);
    const b = stateClient(server.url);
    await Promise.all([a.opened(), b.opened()]);
    await waitFor(() => a.ws.getState('session')?.version === 0, 'initial session state');
    expect(await a.ws.dispatch('session', { id: 's1' })).toEqual({ version: 1 });
    await waitFor(() => a.ws.getState('session')?.version === 1, 'session state v1');
    expect(counterOf(a, 'session').ids).toEqual(['s1']);
    expect(counterOf(b, 'session').ids).toEqual([]);
    expect((await server.getState(`session:${a.ws.sessionId}`)).version).toBe(1);

    const back = a.opened();
    await server.disconnect(a.ws.sessionId!, 4008);
    await back;
    await a.ws.dispatch('session', { id: 's2' });
    await waitFor(() => a.ws.getState('session')?.version === 2, 'session state v2');
    expect(counterOf(a, 'session')).toMatchObject({ ids: ['s1', 's2'], confirmed: true });

    // A new session (the old one is gone): the session scope starts again from version 0.
    const oldSession = a.ws.sessionId!;
    const storage = new MemoryStorage();
    const c = stateClient(server.url, { storage });
    await c.opened();
    await c.ws.dispatch('session', { id: 'c1' });
    await waitFor(() => c.ws.getState('session')?.version === 1, 'c v1');
    c.ws.close(1000, '', { endSession: false });
    forget(c.ws);
    // Forge an unknown session in c's storage: the server answers NEW_SESSION.
    const key = (await storage.keys()).find((k) => k.endsWith(':session'))!;
    const record = (await storage.get(key)) as { session: { id: string; token: string } };
    record.session = { ...record.session, id: 'no-such-session', token: 'x'.repeat(22) };
    await storage.set(key, record);
    const c2 = stateClient(server.url, { storage });
    await waitFor(() => c2.ws.getState('session')?.confirmed === true, 'the new session state');
    expect(c2.ws.sessionId).not.toBe('no-such-session');
    expect(counterOf(c2, 'session')).toMatchObject({ version: 0, ids: [] });
    expect(c2.changes.map((ch) => [ch.source, ch.version, ch.confirmed])).toEqual([
      ['restored', 1, false],
      ['live', 0, true],
    ]);
    expect(oldSession).toBe(a.ws.sessionId);
  });
});

describe('reload and resume', () => {
  it('a reloaded client shows the persisted value unconfirmed at once, then the server version confirmed', async () => {
    const server = await startServer({ state: counterState() });
    const storage = new MemoryStorage();
    const a = stateClient(server.url, { storage });
    await a.ws.join('counter');
    await a.ws.dispatch(SCOPE, { id: 'a1' });
    await a.ws.dispatch(SCOPE, { id: 'a2' });
    await waitFor(() => a.ws.getState(SCOPE)?.version === 2, 'v2');
    // The page goes away without ending the session; the server moves on meanwhile.
    a.ws.close(1000, '', { endSession: false });
    forget(a.ws);
    await server.appendState(SCOPE, { id: 'srv' });

    const reloaded = stateClient(server.url, { storage });
    await new Promise<void>((resolve) => reloaded.ws.once('state', () => resolve()));
    expect(reloaded.ws.getState(SCOPE)).toMatchObject({ version: 2, confirmed: false });
    expect(reloaded.ws.status).not.toBe('open');
    await waitFor(() => reloaded.ws.getState(SCOPE)?.version === 3, 'the server version');
    expect(counterOf(reloaded, SCOPE)).toMatchObject({ confirmed: true, ids: ['a1', 'a2', 'srv'] });
    expect(reloaded.changes.filter((c) => c.scope === SCOPE).map((c) => [c.source, c.version, c.confirmed])).toEqual([
      ['restored', 2, false],
      ['recovery', 3, true],
    ]);

    // Reload again with nothing changed: confirmed at the same version by an empty patch.
    reloaded.ws.close(1000, '', { endSession: false });
    forget(reloaded.ws);
    const spy = frameSpy();
    const again = stateClient(server.url, { storage, WebSocket: spy.WebSocket });
    await waitFor(() => again.ws.getState(SCOPE)?.confirmed === true, 'confirmation');
    expect(again.ws.getState(SCOPE)?.version).toBe(3);
    expect(spy.updates.find((u) => u.scope === SCOPE)).toMatchObject({ version: 3, base: 3, patch: [], reason: 'recovery' });
  });

  it('a resume from an old version gets a patch; from a version the server does not know, the full value', async () => {
    const server = await startServer({ state: counterState({ historySize: 4 }) });
    const spy = frameSpy();
    let reachable = true;
    const storage = new MemoryStorage();
    const a = stateClient(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'), { storage, WebSocket: spy.WebSocket });
    await a.ws.join('counter');
    for (let i = 0; i < 12; i++) await server.appendState(SCOPE, { id: `long-enough-id-${i}` });
    await waitFor(() => a.ws.getState(SCOPE)?.version === 12, 'v12');

    // Cut, two events while away, resume: a patch from 12 to 14.
    reachable = false;
    await server.disconnect(a.ws.sessionId!, 4008);
    await server.appendState(SCOPE, { id: 'x1' });
    await server.appendState(SCOPE, { id: 'x2' });
    spy.updates.length = 0;
    reachable = true;
    a.ws.reconnect();
    await waitFor(() => a.ws.getState(SCOPE)?.version === 14, 'v14');
    const patch = spy.updates.find((u) => u.scope === SCOPE)!;
    expect(patch).toMatchObject({ version: 14, base: 12, reason: 'recovery' });
    expect(patch.patch!.length).toBeGreaterThan(0);
    expect(patch.full).toBeUndefined();

    // A version beyond the server's history (historySize 4): the full value.
    reachable = false;
    await server.disconnect(a.ws.sessionId!, 4008);
    for (let i = 0; i < 6; i++) await server.appendState(SCOPE, { id: `y${i}` });
    spy.updates.length = 0;
    reachable = true;
    a.ws.reconnect();
    await waitFor(() => a.ws.getState(SCOPE)?.version === 20, 'v20');
    const full = spy.updates.find((u) => u.scope === SCOPE)!;
    expect(full).toMatchObject({ version: 20, reason: 'recovery' });
    expect(full.full).toEqual((await server.getState(SCOPE)).value);

    // A version the server never had (ahead of it): the full value, taken as the truth.
    a.ws.close(1000, '', { endSession: false });
    forget(a.ws);
    const key = (await storage.keys()).find((k) => k.endsWith(':state'))!;
    const record = (await storage.get(key)) as { scopes: Record<string, { version: number }> };
    record.scopes[SCOPE]!.version = 999;
    await storage.set(key, record);
    const spy2 = frameSpy();
    const b = stateClient(server.url, { storage, WebSocket: spy2.WebSocket });
    await waitFor(() => b.ws.getState(SCOPE)?.confirmed === true, 'b confirmed');
    expect(spy2.updates.find((u) => u.scope === SCOPE)).toMatchObject({ version: 20, reason: 'recovery', full: (await server.getState(SCOPE)).value });
    expect(counterOf(b, SCOPE).version).toBe(20);
  });
});

describe('scope lifetime and options', () => {
  it('leaving a room drops its scope; close() ends the session and deletes the persisted state', async () => {
    const server = await startServer({ state: counterState() });
    const storage = new MemoryStorage();
    const a = stateClient(server.url, { storage });
    const sent: Array<{ kind: string; scope?: string }> = [];
    a.ws.on('sent', (info) => sent.push({ kind: info.kind, ...(info.scope === undefined ? {} : { scope: info.scope }) }));
    await a.ws.join('counter');
    await a.ws.dispatch(SCOPE, { id: 'a1' });
    await waitFor(() => a.ws.getState(SCOPE)?.version === 1, 'v1');
    expect(sent).toContainEqual({ kind: 'state', scope: SCOPE });
    await a.ws.leave('counter');
    expect(a.ws.getState(SCOPE)).toBeUndefined();
    await waitFor(() => a.ws.getState('session')?.confirmed === true, 'session scope');
    expect((await storage.keys()).filter((k) => k.endsWith(':state'))).toHaveLength(1);
    a.ws.close();
    expect(a.ws.getState('session')).toBeUndefined();
    let stateKeys = ['?'];
    for (let i = 0; i < 200 && stateKeys.length > 0; i++) {
      stateKeys = (await storage.keys()).filter((k) => k.endsWith(':state'));
      if (stateKeys.length > 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(stateKeys).toEqual([]);
  });

  it('createServer validates the state option', async () => {
    await expect(startServer({ state: {} })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message: expect.stringContaining('applyEvent') });
    await expect(startServer({ state: counterState({ snapshotEvery: 0 }) })).rejects.toMatchObject({ message: 'options.state.snapshotEvery must be an integer >= 1' });
    await expect(startServer({ state: { ...counterState(), retransmit: 5 } as never })).rejects.toMatchObject({ message: 'options.state.retransmit is not an option' });
    const plain = await startServer();
    await expect(plain.appendState(SCOPE, {})).rejects.toMatchObject({ code: 'ERR_NO_STATE' });
  });
});

describe('plain mode', () => {
  it('dispatch rejects with ERR_NOT_SUPPORTED; getState holds nothing', async () => {
    const ws = new ReconnectingWebSocket('ws://127.0.0.1:9/none', { mode: 'plain', storage: new MemoryStorage(), environment: {}, startClosed: true });
    await expect(ws.dispatch(SCOPE, { id: 'x' })).rejects.toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
    expect(ws.getState(SCOPE)).toBeUndefined();
    ws.close();
  });
});
