/**
 * HTTP routes served next to the WebSocket endpoint: `/healthz`, `/metrics`, the fault endpoint
 * (option `faults`) and the demo files (option `demo`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hub } from './hub.js';
import { errorMessage } from './hub.js';
import { handleFault } from './faults.js';
import { staticHandler } from './static.js';

/** Handles a request; resolves false when the path is not one of the server's. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Build the request handler of a server. @internal */
export function httpHandler(hub: Hub): HttpHandler {
  const serveStatic = hub.options.demo ? staticHandler(hub.options.demo.dir) : undefined;
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
        await health(hub, res);
        return true;
      }
      if (url.pathname === '/metrics' && req.method === 'GET') {
        const { contentType, body } = await hub.metrics.render();
        res.writeHead(200, { 'content-type': contentType }).end(body);
        return true;
      }
      if (url.pathname === '/_faults/disconnect' && hub.options.faults) {
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST' }).end();
          return true;
        }
        await handleFault(hub, req, url, res);
        return true;
      }
      if (serveStatic) return await serveStatic(req, res, url.pathname);
      return false;
    } catch (err) {
      hub.options.logger.error({ path: url.pathname, err: errorMessage(err) }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
      return true;
    }
  };
}

async function health(hub: Hub, res: ServerResponse): Promise<void> {
  let store = 'ok';
  try {
    await hub.store.ping();
  } catch (err) {
    store = `unavailable: ${errorMessage(err)}`;
  }
  const ok = store === 'ok';
  const body = { status: ok ? 'ok' : 'degraded', store, kind: hub.store.kind, connections: hub.connections.size, sessions: hub.sessions.size };
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
