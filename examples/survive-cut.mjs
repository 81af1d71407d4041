// A Node client, using only the built package, that survives server-side cuts with nothing lost.
// Run the server first:  npx resilient-socket-server --port 8080 --faults
// Then:                  node examples/survive-cut.mjs ws://127.0.0.1:8080
import { ReconnectingWebSocket } from 'resilient-socket';

const url = process.argv[2] ?? 'ws://127.0.0.1:8080';
const ws = new ReconnectingWebSocket(url, { initialReconnectDelay: 200, maxReconnectDelay: 2000 });
ws.on('status', ({ from, to }) => console.log(`status ${from} -> ${to}`));
ws.on('recovered', (r) => console.log(`recovered=${r.recovered} replayed=${r.replayed}`));
ws.on('message', (m) => console.log(`got ${m.id} at ${m.stream}#${m.offset}${m.replayed ? ' (replayed)' : ''}`));
await ws.join('lobby');
for (let i = 1; i <= 5; i++) await ws.send({ n: i }, { room: 'lobby', id: `hello-${i}` });
ws.close();
