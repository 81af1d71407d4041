import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

/** Send a raw HTTP upgrade request and return what the server answered before closing. */
function rawUpgrade(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    setTimeout(() => socket.end(), 300);
  });
}

describe('upgrade requests', () => {
  // Regression: `new URL('//[', base)` threw inside the upgrade listener and killed the process.
  it.each(['//[', '//[::1', 'http://[x/', '/%'])('survives the request target %j and keeps serving', async (target) => {
    const server = await startServer({ path: '/ws' });
    const answer = await rawUpgrade(server.port, target);
    expect(answer).toMatch(/^HTTP\/1\.1 (404|400)/);
    const ok = await connectNew(await startServer());
    expect(ok.session.type).toBe('NEW_SESSION');
    // The first server is still up: a valid upgrade on its path is served.
    const again = await rawUpgrade(server.port, '/ws');
    expect(again).toMatch(/^HTTP\/1\.1 101/);
  });
});
