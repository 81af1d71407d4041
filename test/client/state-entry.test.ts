/**
 * Synced state is opt-in: `resilient-socket` has no state layer (its `dispatch()` refuses,
 * `getState()` holds nothing), `resilient-socket/state` is the same client plus the state layer,
 * and re-exports everything else from the main entry (one copy of the client for both imports).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as main from '../../src/index.js';
import * as withState from '../../src/state.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { counterState, stateClient } from '../state-integration/helpers.js';
import { connect, startServer, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

describe('resilient-socket/state', () => {
  it('re-exports every export of resilient-socket, the same objects, and a ReconnectingWebSocket subclass', () => {
    const mainExports = main as unknown as Record<string, unknown>;
    const stateExports = withState as unknown as Record<string, unknown>;
    expect(Object.keys(stateExports).sort()).toEqual(Object.keys(mainExports).sort());
    for (const name of Object.keys(mainExports)) {
      if (name !== 'ReconnectingWebSocket') expect(stateExports[name], name).toBe(mainExports[name]);
    }
    expect(withState.ReconnectingWebSocket.prototype).toBeInstanceOf(main.ReconnectingWebSocket);
    const ws = new withState.ReconnectingWebSocket('ws://127.0.0.1:9/none', { storage: new MemoryStorage(), environment: {}, startClosed: true });
    expect(ws).toBeInstanceOf(main.ReconnectingWebSocket);
    expect(withState.ReconnectingWebSocket.OPEN).toBe(1);
    ws.close();
  });

  it('re-exports every type of resilient-socket too', () => {
    const typeNames = (file: string) =>
      new Set(
        [...readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8').matchAll(/export type \{([^}]*)\}/g)].flatMap((m) =>
          m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/).pop()!).filter(Boolean),
        ),
      );
    const inState = typeNames('state.ts');
    expect([...typeNames('index.ts')].filter((n) => !inState.has(n))).toEqual([]);
  });
});

describe('resilient-socket without synced state', () => {
  it('refuses dispatch() with ERR_NOT_SUPPORTED, naming the state entry, and holds no state', async () => {
    const ws = new main.ReconnectingWebSocket('ws://127.0.0.1:9/none', { mode: 'protocol', storage: new MemoryStorage(), environment: {}, startClosed: true });
    // @ts-expect-error not in the core client's type (protected): JavaScript callers still get the coded refusal
    const p = ws.dispatch('session', { id: 'x' });
    await expect(p).rejects.toBeInstanceOf(main.ResilientSocketError);
    await expect(p).rejects.toMatchObject({ code: 'ERR_NOT_SUPPORTED', message: expect.stringContaining('resilient-socket/state') });
    // @ts-expect-error not in the core client's type
    expect(ws.getState('session')).toBeUndefined();
    ws.close();
  });

  it('talks to a server with state: messages arrive, state updates are ignored, a state client beside it still syncs', async () => {
    const server = await startServer({ state: counterState() });
    const plain = connect(server.url);
    const synced = stateClient(server.url);
    const stateEvents: unknown[] = [];
    plain.ws.on('state', (c) => stateEvents.push(c));
    await Promise.all([plain.opened(), synced.opened()]);
    await plain.ws.join('r');
    await synced.ws.join('r');
    await synced.ws.dispatch('room:r', { id: 'e1' });
    await waitFor(() => synced.ws.getState('room:r')?.version === 1, 'the state client at v1');
    await synced.ws.send('hello', { room: 'r', id: 'm1' });
    await waitFor(() => plain.ids('r').includes('m1'), 'the message at the client without state');
    expect(plain.ids('r')).toEqual(['m1']);
    // @ts-expect-error not in the core client's type
    expect(plain.ws.getState('room:r')).toBeUndefined();
    expect(stateEvents).toEqual([]);
    expect(plain.errors).toEqual([]);
  });
});
