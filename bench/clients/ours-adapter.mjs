// Our client as a bench adapter (see adapters.mjs for the shape). Protocol mode: the client
// joins its room, `send()` publishes into it with the bench id as the message id, and the
// sender receives its own message back as the room broadcast; ids and acks are on, as always.
import WebSocket from 'ws';
import { OURS, url } from '../lib/ours.mjs';

let mod;
async function load() {
  mod ??= await import(url(OURS.nodeEsm));
  return mod;
}

/** `ws` subclass that reports connection attempts. */
export function countingWs(onAttempt) {
  return class extends WebSocket {
    constructor(address, protocols, options) {
      onAttempt();
      super(address, protocols, { perMessageDeflate: false, ...options });
    }
  };
}

/** Resolves on the client's first `open`; rejects after 30 s. */
export function firstOpen(client) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ours: no open within 30 s')), 30_000);
    client.once('open', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Map a delivered message to the bench shape: the bench fields travel inside `data`. */
export function toBenchMessage(m) {
  const d = m.data;
  return d && typeof d === 'object' ? { id: d.id ?? m.id, t: d.t, data: d.data, replayed: m.replayed } : { id: m.id, data: d };
}

export const oursAdapter = {
  server: 'ours',
  reconnects: true,
  async connect({ base, room, onMessage, onOpen = () => {}, onClose = () => {}, onAttempt = () => {}, WebSocket: Ctor, options = {} }) {
    const { ReconnectingWebSocket } = await load();
    const client = new ReconnectingWebSocket(`${base}/`, { mode: 'protocol', WebSocket: Ctor ?? countingWs(onAttempt), ...options });
    client.on('message', (m) => onMessage(toBenchMessage(m)));
    client.on('close', () => onClose());
    client.on('error', () => {});
    await firstOpen(client);
    if (room) await client.join(room);
    onOpen({ recovered: false });
    client.on('open', (info) => onOpen({ recovered: Boolean(info?.recovered) }));
    return {
      send: (m) => {
        client.send(m, room ? { room, id: m.id } : { id: m.id });
      },
      close: () => client.close(),
      client,
    };
  },
};
