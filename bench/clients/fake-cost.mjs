// Figure 2b: CPU per message against an in-memory socket, so the kernel and the network drop
// out. Run in its own process (`node fake-cost.mjs '<json>'`, result on stdout as JSON).
//   raw:  a minimal client doing what an application on `ws` does per message: JSON.stringify
//         on send, JSON.parse on receive, id check; the fake socket echoes on a microtask.
//   wire: ours' wire format without the SDK: the same minimal client, but it sends the MESSAGE
//         frame ours sends (type, seq, room, id, data) and parses the NEW_MESSAGE ours receives
//         (stream, epoch, offset, room, from, id, data, ts, ack), answered by the same fake server
//         as ours. The floor of ours' figure with this format: JSON of the frames, no machinery.
//   acked: wire plus a promise per message, settled by its folded ack (looked up by seq): the
//         floor with this format and an API whose send() resolves on the acknowledgement.
//   ours: ReconnectingWebSocket (protocol mode, ids and acks) with a fake WebSocket constructor
//         whose "server" answers the handshake, the join, and every MESSAGE with the room
//         broadcast (NEW_MESSAGE) and the ACK, each on a microtask; like the real server, it
//         folds the ACK into the sender's NEW_MESSAGE (`ack`) when the client's HELLO asked for
//         it (`foldAcks`), one frame instead of two.
// The fake server's own work (parse + two stringify per message) is not the client's: every frame
// the client sent is recorded, replayed afterwards through the same handler with replies going
// nowhere, timed with process.cpuUsage(), and subtracted. The figure is the client's CPU only.
import { OURS, url } from '../lib/ours.mjs';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const { lib, count = 100_000, window = 100, size = 100 } = cfg;
const payload = (i) => {
  const head = `${i}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
};
const recorded = [];
let recording = false;
const noop = () => {};

/** Drive `count` messages with at most `window` outstanding through `send`/`onMessage`. */
function drive(send) {
  let sent = 0;
  let got = 0;
  let bad = 0;
  const outstanding = new Set();
  let done;
  const finished = new Promise((r) => (done = r));
  const pump = () => {
    while (sent < count && sent - got < window) {
      const id = `m${sent}`;
      outstanding.add(id);
      send({ id, data: payload(sent) });
      sent++;
    }
  };
  const receive = (m) => {
    if (!outstanding.delete(m.id) || m.data !== payload(Number(m.id.slice(1)))) bad++;
    if (++got >= count) done();
    else pump();
  };
  return { start: pump, receive, finished, result: () => ({ got, bad, missing: outstanding.size }) };
}

async function raw() {
  const socket = {
    onmessage: null,
    send(text) {
      if (recording) recorded.push(text);
      this.handle(text, (reply) => queueMicrotask(() => this.onmessage({ data: reply })));
    },
    handle(text, reply) {
      reply(text);
    },
  };
  replayTarget = socket;
  const d = drive((m) => socket.send(JSON.stringify(m)));
  socket.onmessage = (e) => d.receive(JSON.parse(e.data));
  return d;
}

/** Ours' frames, no SDK: `raw` with the MESSAGE / NEW_MESSAGE envelope and the fake server of `ours`. */
async function wire() {
  const { SUBPROTOCOL } = await import(url(OURS.nodeEsm));
  const socket = new (fakeProtocolSocket(SUBPROTOCOL))();
  socket.foldAcks = true;
  let seq = 0;
  const d = drive((m) => socket.send(JSON.stringify({ type: 'MESSAGE', seq: ++seq, room: 'cost', id: m.id, data: m.data })));
  socket.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type === 'NEW_MESSAGE') d.receive(f);
  };
  return d;
}

/**
 * `wire` plus what every client whose `send()` resolves on the server's acknowledgement does per
 * message: a promise, kept by `seq` until the folded `ack` settles it. The floor of ours' figure
 * while the format is this JSON and the API a promise per message.
 */
async function acked() {
  const { SUBPROTOCOL } = await import(url(OURS.nodeEsm));
  const socket = new (fakeProtocolSocket(SUBPROTOCOL))();
  socket.foldAcks = true;
  let seq = 0;
  const waiting = new Map();
  const d = drive((m) => {
    const s = ++seq;
    socket.send(JSON.stringify({ type: 'MESSAGE', seq: s, room: 'cost', id: m.id, data: m.data }));
    new Promise((resolve, reject) => waiting.set(s, { resolve, reject })).then(noop, noop);
  });
  socket.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type !== 'NEW_MESSAGE') return;
    const w = waiting.get(f.ack);
    if (w !== undefined) {
      waiting.delete(f.ack);
      w.resolve({ id: f.id, offset: f.offset });
    }
    d.receive(f);
  };
  return d;
}

/** A protocol v1 "server" inside a fake socket. */
function fakeProtocolSocket(SUBPROTOCOL) {
  return class FakeSocket {
    constructor() {
      replayTarget = this;
      this.readyState = 0;
      this.protocol = SUBPROTOCOL;
      this.extensions = '';
      this.bufferedAmount = 0;
      this.binaryType = 'nodebuffer';
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      this.offset = 0;
      this.foldAcks = false;
      queueMicrotask(() => {
        this.readyState = 1;
        this.onopen?.({});
      });
    }
    send(text) {
      if (recording) recorded.push(text);
      this.handle(text, (reply) => queueMicrotask(() => this.onmessage?.({ data: reply })));
    }
    handle(text, reply) {
      const f = JSON.parse(text);
      switch (f.type) {
        case 'HELLO':
          this.foldAcks = f.foldAcks === true;
          reply(JSON.stringify({ type: 'NEW_SESSION', v: 1, sessionId: 'S'.repeat(22), resumeToken: 'T'.repeat(43), user: null, rooms: {}, heartbeat: { interval: 600_000, timeout: 600_000 }, limits: { maxPayload: 1 << 20, maxRooms: 100, maxRate: 1e9 }, recovered: false }));
          break;
        case 'JOIN_ROOM':
          reply(JSON.stringify({ type: 'ROOM_JOINED_ACK', seq: f.seq, room: f.room, stream: `room:${f.room}`, epoch: 'e1', offset: 0 }));
          break;
        case 'MESSAGE': {
          const offset = ++this.offset;
          const text = JSON.stringify({ type: 'NEW_MESSAGE', stream: `room:${f.room}`, epoch: 'e1', offset, room: f.room, from: 'S'.repeat(22), id: f.id, data: f.data, ts: Date.now() });
          // The real server splices the ack into the room's shared text (see foldAck in src/server/rooms/shared-frame.ts).
          if (this.foldAcks) reply(`${text.slice(0, -1)},"ack":${f.seq}}`);
          else {
            reply(text);
            reply(JSON.stringify({ type: 'ACK', seq: f.seq, offset }));
          }
          break;
        }
        case 'PING':
          reply(JSON.stringify({ type: 'PONG', t: f.t }));
          break;
        default:
      }
    }
    close(code = 1000) {
      this.readyState = 3;
      queueMicrotask(() => this.onclose?.({ code, reason: '', wasClean: true }));
    }
  };
}

async function ours() {
  const mod = await import(url(OURS.nodeEsm));
  const { oursAdapter } = await import('./ours-adapter.mjs');
  let d;
  const h = await oursAdapter.connect({
    base: 'ws://fake',
    room: 'cost',
    WebSocket: fakeProtocolSocket(mod.SUBPROTOCOL),
    onMessage: (m) => d.receive(m),
  });
  d = drive((m) => h.send(m));
  d.close = () => h.close();
  return d;
}

let replayTarget = null;
const d = lib === 'ours' ? await ours() : lib === 'wire' ? await wire() : lib === 'acked' ? await acked() : await raw();
recording = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
d.start();
const timeout = new Promise((r) => setTimeout(r, cfg.maxMs ?? 120_000, 'timeout'));
const r = await Promise.race([d.finished, timeout]);
const elapsedMs = performance.now() - t0;
const c = process.cpuUsage(cpu0);
const cpuMs = (c.user + c.system) / 1000;
recording = false;
// the fake server's share: the same frames through the same handler, replies scheduled the same
// way (a microtask each) but delivered to no one
const s0 = process.cpuUsage();
const sink = (reply) => queueMicrotask(noop);
for (const text of recorded) replayTarget.handle(text, sink);
await new Promise((r) => setImmediate(r));
const sc = process.cpuUsage(s0);
const serverMs = (sc.user + sc.system) / 1000;
d.close?.();
const res = d.result();
process.stdout.write(`${JSON.stringify({ ...res, timedOut: r === 'timeout', elapsedMs, cpuMs, serverMs, clientCpuMs: cpuMs - serverMs })}\n`);
process.exit(0);
