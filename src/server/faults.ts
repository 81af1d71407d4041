/**
 * The fault-injection endpoint: `POST /_faults/disconnect?session=ID[&code=4008]` closes the
 * connection holding a session (on whichever instance holds it) without ending the session.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hub } from './hub.js';

/** Close codes a fault may use: application codes and the standard ones a server may send. */
function validCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 4000 && code <= 4999) || code === 1000 || code === 1001 || code === 1011 || code === 1012);
}

/**
 * Whether a browser sent the request from another site. Session ids are not secret (they travel
 * in every message's `from`), so without this check any page a user visits could cut sessions of
 * a server running with `faults: true`. Requests without an Origin (curl, tests) are allowed.
 */
function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** Handle `POST /_faults/disconnect`. @internal */
export async function handleFault(hub: Hub, req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
  if (crossOrigin(req)) {
    res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'cross-origin requests may not inject faults' }));
    return;
  }
  const sessionId = url.searchParams.get('session');
  const code = Number(url.searchParams.get('code') ?? 4008);
  if (!sessionId || !validCode(code)) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'session (id) and code (4000-4999) expected' }));
    return;
  }
  const local = hub.sessions.get(sessionId);
  if (local) {
    local.close(code, 'ERR_FAULT_INJECTED');
  } else {
    const record = await hub.store.getSession(sessionId);
    if (!record || record.owner === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no attached session with this id' }));
      return;
    }
    await hub.store.publishControl({ kind: 'disconnect', sessionId, code });
  }
  hub.options.logger.info({ sessionId, code }, 'fault injected: connection closed');
  res.writeHead(204).end();
}
