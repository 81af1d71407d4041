/**
 * The fault-injection endpoint: `POST /_faults/disconnect?session=ID[&code=4008]` closes the
 * connection holding a session (on whichever instance holds it) without ending the session.
 */
import type { ServerResponse } from 'node:http';
import type { Hub } from './hub.js';

/** Close codes a fault may use: application codes and the standard ones a server may send. */
function validCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 4000 && code <= 4999) || code === 1000 || code === 1001 || code === 1011 || code === 1012);
}

/** Handle `POST /_faults/disconnect`. @internal */
export async function handleFault(hub: Hub, url: URL, res: ServerResponse): Promise<void> {
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
