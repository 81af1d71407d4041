// Raw `ws` server: echo (no room) or broadcast to the room named in the URL (`?room=`).
// Frames are forwarded as received, without parsing: the cheapest server a peer can have.
import { WebSocketServer } from 'ws';
import { config, httpWithUpgradeLog, listen, start, filler } from './common.mjs';

const cfg = config();
const { server, upgrades } = httpWithUpgradeLog();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const rooms = new Map();

wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room');
  if (room) {
    let set = rooms.get(room);
    if (!set) rooms.set(room, (set = new Set()));
    set.add(ws);
    ws.on('close', () => set.delete(ws));
  }
  ws.on('message', (data, isBinary) => {
    if (!room) return ws.send(data, { binary: isBinary });
    for (const peer of rooms.get(room)) peer.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

const port = await listen(server, cfg.port ?? 0);
start({
  port,
  upgrades,
  connections: () => wss.clients.size,
  extra: {
    publish: ({ room, count, size = 100, prefix = 's' }) => {
      const set = rooms.get(room) ?? new Set();
      for (let i = 0; i < count; i++) {
        const text = JSON.stringify({ id: `${prefix}${i}`, t: Date.now(), data: filler(size) });
        for (const peer of set) peer.send(text);
      }
      return { to: set.size };
    },
  },
});
