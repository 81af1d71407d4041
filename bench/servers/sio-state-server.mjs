// The state figure's peer (bench/suites/state.mjs): shared state hand-written on Socket.IO 4.8,
// which has no state sync. Each room's `{ version, value }` lives in this process's memory (so
// nothing survives a kill), is folded with the same reducer as ours (state-reducer.mjs), and is
// broadcast whole to the room after every event; a socket gets it when it connects. No dedup of
// re-sent events: the application pattern, not a protocol. Websocket transport only.
// Config: { port, rssLimitMB } — the process exits (code 3) when its RSS passes the limit, since
// full values broadcast to every client can outrun what the clients read.
import { Server } from 'socket.io';
import { config, httpWithUpgradeLog, listen, start } from './common.mjs';
import { applyEvent, initialState } from './state-reducer.mjs';

const cfg = config();
const { server, upgrades } = httpWithUpgradeLog();
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
const rooms = new Map(); // scope -> { version, value }
const scopeOf = (room) => {
  const scope = `room:${room}`;
  if (!rooms.has(scope)) rooms.set(scope, { version: 0, value: initialState(scope) });
  return scope;
};

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room !== 'string' || !room) return socket.disconnect(true);
  const scope = scopeOf(room);
  socket.join(room);
  socket.emit('state', rooms.get(scope));
  socket.on('dispatch', (event, ack) => {
    const cur = rooms.get(scope);
    let next;
    try {
      next = applyEvent(cur.value, { data: event });
    } catch {
      next = undefined;
    }
    if (next === undefined) return typeof ack === 'function' && ack({ error: 'rejected' });
    const s = { version: cur.version + 1, value: next };
    rooms.set(scope, s);
    io.to(room).emit('state', s);
    if (typeof ack === 'function') ack({ version: s.version });
  });
});

const limit = (cfg.rssLimitMB ?? 2048) * 1024 * 1024;
setInterval(() => {
  const rss = process.memoryUsage().rss;
  if (rss > limit) {
    process.stderr.write(`sio-state-server: RSS ${Math.round(rss / 1048576)} MB over the limit, exiting\n`);
    process.exit(3);
  }
}, 250).unref();

const port = await listen(server, cfg.port ?? 0);
start({
  port,
  upgrades,
  connections: () => io.engine.clientsCount,
  extra: {
    getState: ({ scope }) => rooms.get(scope) ?? { version: 0, value: initialState(scope) },
    close: async () => {
      io.close();
      return {};
    },
  },
});
