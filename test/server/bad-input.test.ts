import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, connectNew, startServer, teardown } from './helpers.js';

afterEach(teardown);

describe('bad input', () => {
  it('answers every malformed frame with a coded ERROR and keeps the session and others working', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['r']);
    const { client: bystander } = await connectNew(server, ['r']);
    const cases: Array<[string | Buffer | Record<string, unknown>, string]> = [
      ['{not json', 'ERR_BAD_JSON'],
      [Buffer.from([1, 2, 3]), 'ERR_BINARY_NOT_SUPPORTED'],
      [{ type: 'NOPE' }, 'ERR_UNKNOWN_TYPE'],
      [{ type: 'MESSAGE', seq: 1, id: 'm' }, 'ERR_BAD_FRAME'],
      [{ type: 'MESSAGE', seq: 'one', id: 'm', data: 1 }, 'ERR_BAD_FRAME'],
      [{ type: 'JOIN_ROOM', seq: 1, room: 'no spaces allowed' }, 'ERR_BAD_FRAME'],
      ['[1,2,3]', 'ERR_BAD_FRAME'],
      ['"string"', 'ERR_BAD_FRAME'],
      [JSON.stringify({ type: 'MESSAGE', seq: 1, id: 'deep', data: JSON.parse('['.repeat(100) + ']'.repeat(100)) }), 'ERR_BAD_FRAME'],
    ];
    for (const [input, code] of cases) {
      client.send(input);
      expect((await client.next('ERROR')).code).toBe(code);
    }
    client.send({ type: 'MESSAGE', seq: 1, id: 'fine', room: 'r', data: 1 });
    expect((await client.next('ACK')).offset).toBe(1);
    expect((await bystander.next('NEW_MESSAGE')).id).toBe('fine');
  });

  it('closes an oversized frame with 1009 and keeps serving everyone else', async () => {
    const server = await startServer({ maxPayload: 1024 });
    const { client } = await connectNew(server, ['r']);
    const { client: other } = await connectNew(server, ['r']);
    client.send({ type: 'MESSAGE', seq: 1, id: 'big', room: 'r', data: 'x'.repeat(2000) });
    expect((await client.closed).code).toBe(1009);
    other.send({ type: 'MESSAGE', seq: 1, id: 'small', room: 'r', data: 1 });
    expect((await other.next('ACK')).offset).toBe(1);
    expect(await server.store.info('room:r')).toMatchObject({ lastOffset: 1 });
  });

  it('closes a connection whose first frame is malformed with 4000', async () => {
    const server = await startServer();
    const client = await TestClient.open(server.url);
    client.send('garbage');
    expect((await client.next('ERROR')).code).toBe('ERR_BAD_JSON');
    expect((await client.closed).code).toBe(4000);
  });

  it('answers STATE_* frames with ERR_NO_STATE and consumes the seq of a STATE_EVENT', async () => {
    const server = await startServer();
    const { client } = await connectNew(server, ['r']);
    client.send({ type: 'STATE_RESYNC', scope: 'session' });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_NO_STATE', scope: 'session' });
    client.send({ type: 'STATE_EVENT', seq: 1, scope: 'session', event: { op: 'x' } });
    expect((await client.next('ACK')).error?.code).toBe('ERR_NO_STATE');
    client.send({ type: 'MESSAGE', seq: 2, id: 'next', room: 'r', data: 1 });
    expect((await client.next('ACK')).seq).toBe(2);
  });

  it('closes the connection with 4005 when the store fails, acknowledging nothing', async () => {
    const { MemoryStore } = await import('../../src/server/index.js');
    const store = new MemoryStore();
    const server = await startServer({ store });
    const { client } = await connectNew(server, ['r']);
    const original = store.append.bind(store);
    store.append = async () => {
      throw Object.assign(new Error('connection refused'), { code: 'ERR_STORE_UNAVAILABLE' });
    };
    client.send({ type: 'MESSAGE', seq: 1, id: 'lost?', room: 'r', data: 1 });
    expect(await client.next('ERROR')).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', fatal: true });
    expect((await client.closed).code).toBe(4005);
    expect(client.received.some((f) => f.type === 'ACK')).toBe(false);
    store.append = original;
    // A failing handshake also answers 4005 so the client retries.
    store.createSession = async () => {
      throw new Error('down');
    };
    const next = await TestClient.open(server.url);
    next.send({ type: 'HELLO', v: 1 });
    expect((await next.next('ERROR')).code).toBe('ERR_STORE_UNAVAILABLE');
    expect((await next.closed).code).toBe(4005);
    await store.close();
  });
});

describe('heartbeats', () => {
  it('terminates a connection that stops answering WebSocket pings', async () => {
    const server = await startServer({ pingInterval: 40 });
    const zombie = await TestClient.open(server.url, { autoPong: false });
    await zombie.hello();
    const { client: healthy } = await connectNew(server);
    const closed = await zombie.closed;
    expect([4009, 1006]).toContain(closed.code);
    // The healthy client answered every ping and is still connected.
    healthy.send({ type: 'PING', t: 1 });
    expect((await healthy.next('PONG')).t).toBe(1);
    expect(server.connectionCount).toBe(1);
  });
});
