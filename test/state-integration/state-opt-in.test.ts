/**
 * Synced state goes only to clients that ask for it (`HELLO.state` / `RECONNECT.state`). The core
 * `ReconnectingWebSocket` has no state layer and never acknowledges a `STATE_UPDATE`: before this
 * was negotiated, the server's feed resent the full value of every scope it followed for such a
 * client every `retransmitMs`, for as long as it stayed connected (review finding).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startServer, teardownAll, waitFor } from '../client/integration-helpers.js';
import { counterOf, counterState, frameSpy, stateClient } from './helpers.js';

afterEach(teardownAll);

describe('state is opt-in on the wire', () => {
  it('a core client in a room with state gets no STATE_UPDATE, live or retransmitted, before or after a resume; a state client beside it gets every version', async () => {
    const server = await startServer({ state: counterState({ retransmitMs: 50 }) });
    const spy = frameSpy();
    const core = connect(server.url, { WebSocket: spy.WebSocket });
    await core.ws.join('lobby');
    const state = stateClient(server.url);
    await state.ws.join('lobby');
    expect(await state.ws.dispatch('room:lobby', { id: 'a' })).toEqual({ version: 1 });
    // the core client's own session resumes (RECONNECT without `state`) ...
    core.ws.reconnect();
    await waitFor(() => core.ws.status === 'open' && core.ws.stats.reconnects >= 1, 'the core client resumed');
    expect(await state.ws.dispatch('room:lobby', { id: 'b' })).toEqual({ version: 2 });
    await waitFor(() => counterOf(state, 'room:lobby').version === 2, 'the state client holds version 2');
    // ... and several retransmit periods pass: a follower that never acknowledged would be resent
    // the value every 50 ms by now
    await new Promise((r) => setTimeout(r, 400));
    expect(spy.updates).toEqual([]);
    // @ts-expect-error not in the core client's type (it holds no state)
    expect(core.ws.getState('room:lobby')).toBeUndefined();
    expect(counterOf(state, 'room:lobby')).toMatchObject({ count: 2, ids: ['a', 'b'], version: 2, confirmed: true });
  });
});
