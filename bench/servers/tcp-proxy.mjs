// Loopback TCP proxy used to cut every client at once without touching the server process:
// `cut` resets every proxied connection and refuses new ones until `restore`.
import { createServer, connect } from 'node:net';
import { serve, emit } from '../lib/rpc.mjs';

const { target, port = 0 } = JSON.parse(process.argv[2] ?? '{}');
const pairs = new Set();
let refusing = false;

const server = createServer({ noDelay: true }, (client) => {
  if (refusing) return client.resetAndDestroy();
  const upstream = connect({ port: target, host: '127.0.0.1', noDelay: true });
  const pair = { client, upstream };
  pairs.add(pair);
  const end = () => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen({ port, host: '127.0.0.1' }, () => {
  serve({
    cut: () => {
      refusing = true;
      const n = pairs.size;
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
      return { cut: n };
    },
    restore: () => {
      refusing = false;
      return { at: Date.now() };
    },
    stats: () => ({ connections: pairs.size }),
  });
  emit('listening', { port: server.address().port, pid: process.pid, at: Date.now() });
});
