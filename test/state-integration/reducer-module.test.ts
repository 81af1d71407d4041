/**
 * The public `state.reducerModule` option: the reducer loaded from a plain JS module folds new
 * events on the main thread, and a long log is rebuilt in a worker thread by a server instance
 * that has never seen the scope; its clients get the same value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { onTeardown, startServer, teardownAll, waitFor } from '../client/integration-helpers.js';
import { counterOf, stateClient } from './helpers.js';

afterEach(teardownAll);

const reducerModule = new URL('./fixtures/counter-reducer.mjs', import.meta.url).href;
const SCOPE = 'room:long';

describe('state.reducerModule', () => {
  it('folds new events with the module and rebuilds a long log in a worker on another instance', async () => {
    const store = new MemoryStore();
    onTeardown(() => store.close());
    const first = await startServer({ store, state: { reducerModule, snapshotEvery: 100_000 } });
    const ids: string[] = [];
    for (let i = 0; i < 1500; i++) {
      ids.push(`e${i}`);
      await first.appendState(SCOPE, { id: `e${i}` });
    }
    expect(await first.getState(SCOPE)).toMatchObject({ version: 1500, value: { count: 1500, thread: 'main' } });
    await expect(first.appendState(SCOPE, { refuse: true })).rejects.toMatchObject({ code: 'ERR_STATE_REJECTED' });

    // A fresh instance on the same store: its cache is empty, so the first read replays 1500 events.
    const second = await startServer({ store, state: { reducerModule, workerThreshold: 100, workers: 1 } });
    const rebuilt = await second.getState(SCOPE);
    expect(rebuilt.version).toBe(1500);
    expect(rebuilt.value).toMatchObject({ count: 1500, thread: 'worker' });
    expect((rebuilt.value as { ids: string[] }).ids).toEqual(ids);

    const a = stateClient(second.url);
    await a.ws.join('long');
    await waitFor(() => a.ws.getState(SCOPE)?.version === 1500, 'the rebuilt value');
    expect(counterOf(a, SCOPE).ids).toEqual(ids);
    await a.ws.dispatch(SCOPE, { id: 'last' });
    await waitFor(() => a.ws.getState(SCOPE)?.version === 1501, 'v1501');
    expect(counterOf(a, SCOPE).ids.at(-1)).toBe('last');
  });
});
