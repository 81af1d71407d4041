/**
 * Operations are queued in the order the application calls them, also once the stored session
 * has loaded and `send()` skips its wait (review finding: a `send()` right after a `join()`,
 * `leave()` or `dispatch()` took the lower `seq` and went first).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SentInfo } from '../../src/client/events.js';
import { connect, startServer, teardownAll, waitFor } from './integration-helpers.js';
import { counterState, stateClient } from '../state-integration/helpers.js';

afterEach(teardownAll);

describe('operations keep the order they were called in', () => {
  it('join() then send() to that room in the same tick: the join goes first and the send is accepted', async () => {
    const server = await startServer();
    const other = connect(server.url);
    await other.ws.join('r');
    const c = connect(server.url);
    await c.opened();
    const sent: SentInfo[] = [];
    c.ws.on('sent', (s) => sent.push(s));
    const joined = c.ws.join('r');
    const result = c.ws.send('hello', { room: 'r', id: 'hello-1' });
    await joined;
    expect((await result)?.id).toBe('hello-1');
    expect(sent.map((s) => s.kind)).toEqual(['join', 'message']);
    await waitFor(() => other.ids('r').includes('hello-1'), 'the message in the room');
  });

  it('leave() then send() to that room in the same tick: the send comes after the leave and is refused', async () => {
    const server = await startServer();
    const c = connect(server.url);
    await c.ws.join('r');
    const sent: SentInfo[] = [];
    c.ws.on('sent', (s) => sent.push(s));
    const left = c.ws.leave('r');
    const refused = c.ws.send('after-leave', { room: 'r' }).then(() => 'accepted', (e: { code: string }) => e.code);
    await left;
    expect(await refused).toBe('ERR_NOT_IN_ROOM');
    expect(sent.map((s) => s.kind)).toEqual(['leave', 'message']);
  });

  it('dispatch() then send() in the same tick: the state event goes first', async () => {
    const server = await startServer({ state: counterState() });
    const c = stateClient(server.url);
    await c.ws.join('r');
    const sent: SentInfo[] = [];
    c.ws.on('sent', (s) => sent.push(s));
    const dispatched = c.ws.dispatch('room:r', { id: 'e1' });
    const message = c.ws.send('after-dispatch', { room: 'r', id: 'm1' });
    expect(await dispatched).toEqual({ version: 1 });
    expect((await message)?.id).toBe('m1');
    expect(sent.map((s) => s.kind)).toEqual(['state', 'message']);
  });
});
