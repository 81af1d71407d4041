/**
 * A `send()` queued before the client found out the server is plain is handed to plain mode;
 * once handed to the socket it counts in `stats.messagesOut`, like any other message.
 */
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, onTeardown, teardownAll } from './integration-helpers.js';

afterEach(teardownAll);

describe('a send queued before plain mode', () => {
  it('counts in stats.messagesOut once delivered', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    onTeardown(() => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }));
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(isBinary ? data : String(data))));
    const c = connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    await c.ws.send('queued first');
    expect(c.ws.mode).toBe('plain');
    expect(c.ws.stats.messagesOut).toBe(1);
    await c.ws.send('second');
    expect(c.ws.stats.messagesOut).toBe(2);
  });
});
