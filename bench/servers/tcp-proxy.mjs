// Loopback TCP proxy used to cut every client at once without touching the server process:
// `cut` resets every proxied connection and refuses new ones until `restore`.
import { createServer, connect } from 'node:net';
import { serve, emit } from '../lib/rpc.mjs';

const { target, port = 0 } = JSON.parse(process.argv[2] ?? '{}');
const pairs = new Set();
let refusing = false;
let refused = 0; // connections reset while refusing, since the last cut

const server = createServer({ noDelay: true }, (client) => {
  if (refusing) {
    refused++;
    return client.resetAndDestroy();
  }
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
// A deep accept queue (the kernel caps it at net.core.somaxconn): with Node's default of 511, a
// storm's connections overflowed it whenever this process was descheduled for a moment, and each
// dropped SYN cost its client a 1 s retransmit, a delay of the proxy, not of the library measured.
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  serve({
    cut: () => {
      // refuse first, in the same tick: no connection can be accepted between the two
      refusing = true;
      refused = 0;
      const n = pairs.size;
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
      return { cut: n };
    },
    // `held`: proxied connections open at the moment of the restore (0 when the cut held)
    restore: () => {
      const held = pairs.size;
      refusing = false;
      return { at: Date.now(), held, refused };
    },
    stats: () => ({ connections: pairs.size }),
    cpu: () => process.cpuUsage(),
  });
  emit('listening', { port: server.address().port, pid: process.pid, at: Date.now() });
});
