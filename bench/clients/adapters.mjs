// One adapter per client library, all with the same shape so every figure drives them alike:
//   connect({ base, room, onMessage(msg), onOpen(info), onClose(), onAttempt() }) -> handle
//   handle.send(msg)  (msg: { id, t, data }, a plain object)
//   handle.close()    (for good)
// `base` is `ws://127.0.0.1:<port>`; each library's defaults are kept (reconnect delays,
// buffering), as an application would use it.
import WebSocket from 'ws';
import { OURS, url } from '../lib/ours.mjs';

/** `ws` subclass that reports every connection attempt (libraries accept a constructor). */
function countingWs(onAttempt) {
  return class extends WebSocket {
    constructor(address, protocols, options) {
      onAttempt();
      super(address, protocols, { perMessageDeflate: false, ...options });
    }
  };
}

const withRoom = (base, room) => (room ? `${base}/?room=${encodeURIComponent(room)}` : `${base}/`);
const parse = (data) => JSON.parse(typeof data === 'string' ? data : data.toString());

/** Raw `ws`: no reconnection, the baseline. */
const rawWs = {
  server: 'ws',
  reconnects: false,
  async connect({ base, room, onMessage, onOpen = () => {}, onClose = () => {}, onAttempt = () => {} }) {
    onAttempt();
    const ws = new WebSocket(withRoom(base, room), { perMessageDeflate: false });
    ws.on('message', (d) => onMessage(parse(d)));
    ws.on('close', () => onClose());
    ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    onOpen({ recovered: false });
    return { send: (m) => ws.send(JSON.stringify(m)), close: () => ws.close(), raw: ws };
  },
};

/** Shared shape of reconnecting-websocket and partysocket (same API lineage). */
function rwsLike(load) {
  return {
    server: 'ws',
    reconnects: true,
    async connect({ base, room, onMessage, onOpen = () => {}, onClose = () => {}, onAttempt = () => {} }) {
      const Ctor = await load();
      const rws = new Ctor(withRoom(base, room), [], { WebSocket: countingWs(onAttempt) });
      rws.addEventListener('message', (e) => onMessage(parse(e.data)));
      rws.addEventListener('close', () => onClose());
      rws.addEventListener('error', () => {});
      await new Promise((resolve) => {
        const first = () => {
          rws.removeEventListener('open', first);
          resolve();
        };
        rws.addEventListener('open', first);
      });
      onOpen({ recovered: false });
      rws.addEventListener('open', () => onOpen({ recovered: false }));
      return { send: (m) => rws.send(JSON.stringify(m)), close: () => rws.close() };
    },
  };
}

/** socket.io-client over the websocket transport, one Manager per client. */
const socketIo = {
  server: 'sio',
  reconnects: true,
  async connect({ base, room, onMessage, onOpen = () => {}, onClose = () => {}, onAttempt = () => {} }) {
    const { io } = await import('socket.io-client');
    onAttempt();
    const socket = io(base, { transports: ['websocket'], forceNew: true, query: room ? { room } : {} });
    socket.io.on('reconnect_attempt', () => onAttempt());
    socket.on('msg', (m) => onMessage(m));
    socket.on('disconnect', () => onClose());
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    onOpen({ recovered: false });
    socket.on('connect', () => onOpen({ recovered: socket.recovered }));
    return { send: (m) => socket.emit('msg', m), close: () => socket.disconnect() };
  },
};

export const ADAPTERS = {
  ws: rawWs,
  'reconnecting-websocket': rwsLike(async () => (await import('reconnecting-websocket')).default),
  partysocket: rwsLike(async () => (await import('partysocket')).WebSocket),
  'socket.io-client': socketIo,
};

/** Our client, once dist/index.js exists (see ours-adapter.mjs). */
export async function adapter(name) {
  if (name === 'ours') return (await import('./ours-adapter.mjs')).oursAdapter;
  const a = ADAPTERS[name];
  if (!a) throw new Error(`unknown client library ${name}`);
  return a;
}

export { OURS, url };
