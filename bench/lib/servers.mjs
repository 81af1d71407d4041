// Starting bench server processes: which script serves which library, on which port.
import { fileURLToPath } from 'node:url';
import { Worker } from './proc.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const SCRIPTS = {
  ws: here('../servers/ws-server.mjs'),
  sio: here('../servers/sio-server.mjs'),
  'sio-state': here('../servers/sio-state-server.mjs'),
  ours: here('../servers/ours-server.mjs'),
  proxy: here('../servers/tcp-proxy.mjs'),
  client: here('../clients/worker.mjs'),
};

/**
 * Fork a server of `kind` with `config` (JSON) and wait until it listens.
 * @returns {Promise<{worker: Worker, port: number, at: number}>}
 */
export async function startServer(kind, config = {}, { execArgv = [], timeoutMs = 30_000 } = {}) {
  const worker = new Worker(SCRIPTS[kind], { args: [JSON.stringify(config)], execArgv, name: `${kind}-server` });
  const ready = await Promise.race([
    worker.next('listening', timeoutMs),
    worker.exited.then((e) => Promise.reject(new Error(`${kind} server exited during start (${e.code ?? e.signal})`))),
  ]);
  return { worker, port: ready.port, at: ready.at };
}

/** Fork a client worker. */
export function startClient(name = 'client', execArgv = []) {
  return new Worker(SCRIPTS.client, { name, execArgv });
}
