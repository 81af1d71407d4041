import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, createServer } from '../../src/server/index.js';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

const httpUrl = (wsUrl: string, path: string) => wsUrl.replace(/^ws/, 'http') + path;

describe('http routes', () => {
  it('/healthz reports the store, connections and sessions; 503 when the store ping fails', async () => {
    const store = new MemoryStore();
    const server = await startServer({ store });
    await connectNew(server);
    const res = await fetch(httpUrl(server.url, '/healthz'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', store: 'ok', connections: 1, sessions: 1 });
    store.ping = async () => {
      throw new Error('unreachable');
    };
    const down = await fetch(httpUrl(server.url, '/healthz'));
    expect(down.status).toBe(503);
    expect((await down.json()).status).toBe('degraded');
    await store.close();
  });

  it('/metrics exposes the server metrics in Prometheus format', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['m']);
    client.send({ type: 'MESSAGE', seq: 1, id: 'x', room: 'm', data: 1 });
    await client.next('ACK');
    client.send('nonsense');
    await client.next('ERROR');
    const res = await fetch(httpUrl(server.url, '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const name of [
      'resilient_socket_connections 1',
      'resilient_socket_sessions_attached 1',
      'resilient_socket_handshakes_total{kind="hello"} 1',
      'resilient_socket_reconnects_total',
      'resilient_socket_recoveries_total',
      'resilient_socket_replayed_messages_total',
      'resilient_socket_messages_in_total 1',
      'resilient_socket_messages_out_total 1',
      'resilient_socket_errors_total{code="ERR_BAD_JSON"} 1',
      'resilient_socket_outbox_bytes',
      'resilient_socket_handshake_duration_seconds_bucket',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('keeps the fault endpoint off unless faults: true', async () => {
    const off = await startServer();
    const { session } = await connectNew(off);
    expect((await fetch(httpUrl(off.url, `/_faults/disconnect?session=${session.sessionId}`), { method: 'POST' })).status).toBe(404);

    const on = await startServer({ faults: true });
    const { client, session: s2 } = await connectNew(on);
    const res = await fetch(httpUrl(on.url, `/_faults/disconnect?session=${s2.sessionId}`), { method: 'POST' });
    expect(res.status).toBe(204);
    expect((await client.closed).code).toBe(4008);
    // The session lives on: it resumes.
    const back = await TestClient.open(on.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: s2.sessionId, resumeToken: s2.resumeToken, positions: {}, lastAckedSeq: 0 });
    expect((await back.next('STATE_RECOVERED')).recovered).toBe(true);
    expect((await fetch(httpUrl(on.url, '/_faults/disconnect?session=unknown'), { method: 'POST' })).status).toBe(404);
    const custom = await fetch(httpUrl(on.url, `/_faults/disconnect?session=${s2.sessionId}&code=4321`), { method: 'POST' });
    expect(custom.status).toBe(204);
    expect((await back.closed).code).toBe(4321);
  });

  it('refuses fault requests a browser sends from another site, and serves same-origin ones', async () => {
    const server = await startServer({ faults: true });
    const { client, session } = await connectNew(server);
    const post = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(httpUrl(server.url, `/_faults/disconnect?session=${session.sessionId}`), { method: 'POST', headers: { origin } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await post('https://evil.example')).toBe(403);
    expect(await post('not a url')).toBe(403);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(await post(httpUrl(server.url, ''))).toBe(204);
    expect((await client.closed).code).toBe(4008);
  });

  it('disconnects a session held by another instance through the store (shared store)', async () => {
    const store = new MemoryStore();
    const a = await startServer({ store, faults: true });
    const b = await startServer({ store, faults: true });
    const { client, session } = await connectNew(b);
    expect((await fetch(httpUrl(a.url, `/_faults/disconnect?session=${session.sessionId}`), { method: 'POST' })).status).toBe(204);
    expect((await client.closed).code).toBe(4008);
    // Takeover across instances: resume on `a` while attached on `b`.
    const again = await TestClient.open(b.url);
    again.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    const recovered = await again.next('STATE_RECOVERED');
    await again.next('REPLAY_DONE');
    const thief = await TestClient.open(a.url);
    thief.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: recovered.resumeToken, positions: {}, lastAckedSeq: 0 });
    await thief.next('STATE_RECOVERED');
    expect((await again.closed).code).toBe(4002);
    await teardown();
    await store.close();
  });

  it('serves the demo files with content types and refuses path traversal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-demo-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
      writeFileSync(join(dir, 'app.js'), 'console.log(1)');
      const server = await startServer({ demo: { dir } });
      const index = await fetch(httpUrl(server.url, '/'));
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await index.text()).toContain('demo');
      const js = await fetch(httpUrl(server.url, '/app.js'));
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect((await fetch(httpUrl(server.url, '/../package.json'))).status).toBe(404);
      expect((await fetch(httpUrl(server.url, '/%2e%2e/%2e%2e/etc/passwd'))).status).toBe(404);
      expect((await fetch(httpUrl(server.url, '/missing.html'))).status).toBe(404);
      const off = await startServer();
      expect((await fetch(httpUrl(off.url, '/'))).status).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('attaches to an existing http.Server on a path', async () => {
    const http = createHttpServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const server = await createServer({ server: http, path: '/ws' });
    try {
      const port = (http.address() as AddressInfo).port;
      const client = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
      expect((await client.hello()).type).toBe('NEW_SESSION');
      client.close();
      await client.closed;
    } finally {
      await server.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it('refuses upgrades outside path with 404 on its own server', async () => {
    const server = await startServer({ path: '/ws' });
    expect(server.url).toMatch(/\/ws$/);
    await expect(TestClient.open(server.url.replace(/\/ws$/, '/other'))).rejects.toThrow('404');
    const client = await TestClient.open(server.url);
    expect((await client.hello()).type).toBe('NEW_SESSION');
  });

  it('disconnect(sessionId) closes the connection and keeps the session', async () => {
    const server = await startServer();
    const { client, session } = await connectNew(server);
    await server.disconnect(session.sessionId, 4321);
    expect((await client.closed).code).toBe(4321);
    const back = await TestClient.open(server.url);
    back.send({ type: 'RECONNECT', v: 1, sessionId: session.sessionId, resumeToken: session.resumeToken, positions: {}, lastAckedSeq: 0 });
    expect((await back.next('STATE_RECOVERED')).recovered).toBe(true);
    await expect(server.sendTo('nobody', 1)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TARGET' });
  });

  it('validates options with precise messages', async () => {
    await expect(createServer({ sessionTtl: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message: 'options.sessionTtl must be an integer >= 1' });
    await expect(createServer({ port: 70000 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(createServer({ path: 'ws' })).rejects.toThrow('options.path must be a string starting with "/"');
  });
});
