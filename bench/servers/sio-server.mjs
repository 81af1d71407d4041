// Socket.IO 4.8 server: websocket transport only, optional connection state recovery, optional
// Redis Streams adapter. Event `msg` is echoed to the sender, or broadcast to its room
// (handshake query `room`, sender included).
import { Server } from 'socket.io';
import { config, httpWithUpgradeLog, listen, start, filler } from './common.mjs';

const cfg = config();
const { server, upgrades } = httpWithUpgradeLog();
const opts = { transports: ['websocket'], serveClient: false, perMessageDeflate: false };
if (cfg.recovery) {
  opts.connectionStateRecovery = { maxDisconnectionDuration: cfg.recoveryMs ?? 600_000, skipMiddlewares: true };
}
let redis = null;
if (cfg.redis) {
  const { createClient } = await import('redis');
  const { createAdapter } = await import('@socket.io/redis-streams-adapter');
  redis = createClient({ url: cfg.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  opts.adapter = createAdapter(redis, { streamName: `${cfg.redisPrefix}:stream`, sessionKeyPrefix: `${cfg.redisPrefix}:session:` });
}
const io = new Server(server, opts);
let recovered = 0;
io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (socket.recovered) recovered++;
  else if (typeof room === 'string' && room) socket.join(room);
  socket.on('msg', (m) => {
    if (typeof room === 'string' && room) io.to(room).emit('msg', m);
    else socket.emit('msg', m);
  });
});

const port = await listen(server, cfg.port ?? 0);
start({
  port,
  upgrades,
  connections: () => io.engine.clientsCount,
  extra: {
    recovered: () => recovered,
    publish: ({ room, count, size = 100, prefix = 's' }) => {
      for (let i = 0; i < count; i++) io.to(room).emit('msg', { id: `${prefix}${i}`, t: Date.now(), data: filler(size) });
      return {};
    },
    close: async () => {
      io.close();
      if (redis) await redis.quit();
      return {};
    },
  },
});
