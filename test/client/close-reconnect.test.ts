/**
 * reconnect() right after close(), while close() still waits for its socket: the close finishes
 * (closing -> closed, its close event) and the client starts over, as after a completed close()
 * (it used to stay closed for good).
 */
import { afterEach, expect, it } from 'vitest';
import { connect, startServer, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

it('close() then reconnect() at once: closed, then open again with a new session that delivers', async () => {
  const server = await startServer();
  const other = connect(server.url);
  await other.ws.join('r');
  const c = connect(server.url);
  await c.opened();
  const statuses: string[] = [];
  c.ws.on('status', (s) => statuses.push(`${s.from}>${s.to}`));
  const closes: boolean[] = [];
  c.ws.on('close', (info) => closes.push(info.willReconnect));
  c.ws.close();
  c.ws.reconnect();
  await waitFor(() => c.ws.status === 'open', 'open again');
  expect(statuses).toEqual(['open>closing', 'closing>closed', 'closed>reconnecting', 'reconnecting>open']);
  expect(closes).toEqual([false]);
  await c.ws.join('r');
  await c.ws.send('after', { room: 'r', id: 'after-1' });
  await waitFor(() => other.ids('r').includes('after-1'), 'the message in the room');
  expect(other.ids('r')).toEqual(['after-1']);
});
