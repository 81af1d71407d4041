/**
 * `streamIdleTtl` end to end: a room nobody uses is forgotten by the store after it, and a client
 * that comes back with a position in it is told `epoch_changed` (coded, reported, nothing silently
 * lost); a room with a connected member is never forgotten, so a client that missed nothing gets
 * no gap. Memory store and real Redis (unique prefix, only its own keys deleted).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryStore } from '../../src/server/stores/memory.js';
import type { ServerOptions } from '../../src/server/index.js';
import { startServer, teardown, until, realClient, roomLog } from './helpers.js';
import { REDIS_URL, deleteKeys, redisAvailable, uniquePrefix } from '../helpers/redis.js';

const TTL = 400;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A store option for the server, whether the store holds `room:<room>`, and cleanup. */
interface Backend {
  store: () => { option: ServerOptions['store']; holdsRoom: (room: string) => Promise<boolean>; close: () => Promise<void> };
}

const memory: Backend = {
  store: () => {
    const store = new MemoryStore({ sweepIntervalMs: 20, streamIdleTtlMs: TTL });
    return { option: store, holdsRoom: async (room) => store.peekStream(`room:${room}`) !== undefined, close: () => store.close() };
  },
};

const redisUp = await redisAvailable();
const base = uniquePrefix('stream-idle');
let made = 0;
const admin = redisUp ? new Redis(REDIS_URL) : undefined;
afterAll(async () => {
  admin?.disconnect();
  if (redisUp) await deleteKeys(base);
});

const redis: Backend = {
  store: () => {
    const keyPrefix = `${base}${++made}:`;
    return { option: { redis: REDIS_URL, keyPrefix }, holdsRoom: async (room) => (await admin!.exists(`${keyPrefix}stream-meta:room:${room}`)) === 1, close: async () => undefined };
  },
};

afterEach(teardown);

for (const [name, backend, enabled] of [['memory', memory, true], ['redis', redis, redisUp]] as const) {
  describe.skipIf(!enabled)(`streamIdleTtl (${name} store)`, () => {
    /** A client in room `r` gets message 1, then is away until its session expired; `member` stays in the room throughout. */
    async function away(withMember = false): Promise<{ server: Awaited<ReturnType<typeof startServer>>; client: ReturnType<typeof realClient>; log: ReturnType<typeof roomLog<number>>; memberLog?: ReturnType<typeof roomLog<number>>; holdsRoom: (room: string) => Promise<boolean>; comeBack: () => void; closeStore: () => Promise<void> }> {
      const { option, holdsRoom, close } = backend.store();
      const server = await startServer({ store: option, sessionTtl: 50, sweepInterval: 60_000, retention: { maxAgeMs: TTL }, streamIdleTtl: TTL });
      let reachable = true;
      const client = realClient(() => (reachable ? server.url : 'ws://127.0.0.1:9/unreachable'), { initialReconnectDelay: 20, maxReconnectDelay: 50 });
      const log = roomLog<number>(client, 'r');
      await client.join('r');
      let memberLog: ReturnType<typeof roomLog<number>> | undefined;
      if (withMember) {
        const member = realClient(server.url);
        memberLog = roomLog<number>(member, 'r');
        await member.join('r');
      }
      await server.publish('r', 1);
      await until(() => log.got.length === 1 && (memberLog === undefined || memberLog.got.length === 1), 'the first message');
      reachable = false;
      await server.disconnect(client.sessionId!, 4008);
      // The session expires (sessionTtl 50 ms): the client comes back with only its positions.
      await sleep(100);
      await server.sweepExpiredSessions();
      const comeBack = (): void => {
        reachable = true;
        client.reconnect();
      };
      return { server, client, log, ...(memberLog ? { memberLog } : {}), holdsRoom, comeBack, closeStore: close };
    }

    it('forgets a room idle past streamIdleTtl; a client back with a position in it gets an epoch_changed gap, then live messages', async () => {
      const { server, log, holdsRoom, comeBack, closeStore } = await away();
      try {
        await until(() => holdsRoom('r').then((held) => !held), 'the idle room to be forgotten');
        // Published into the room's new epoch while the client is away: all of the new epoch is
        // new to the client and still retained, so it is replayed; the old epoch is reported.
        await server.publish('r', 2);
        comeBack();
        await until(() => log.gaps.length > 0, 'the gap report');
        expect(log.gaps).toEqual([expect.objectContaining({ stream: 'room:r', reason: 'epoch_changed', from: 2, to: 0 })]);
        await server.publish('r', 3);
        await until(() => log.got.includes(3), 'a live message after the gap');
        expect(log.got).toEqual([1, 2, 3]);
      } finally {
        await teardown();
        await closeStore();
      }
    });

    it('keeps a room with a connected member past streamIdleTtl; a client that missed nothing gets no gap', async () => {
      const { server, client, log, memberLog, holdsRoom, comeBack, closeStore } = await away(true);
      try {
        // Several idle limits with no message and no read: only the member keeps the room.
        await sleep(3 * TTL);
        expect(await holdsRoom('r')).toBe(true);
        comeBack();
        await until(async () => client.sessionId !== undefined && (await server.store.getSession(client.sessionId))?.rooms['r'] !== undefined, 'the client to re-join under its new session');
        await server.publish('r', 2);
        await until(() => log.got.includes(2) && memberLog!.got.includes(2), 'the next message at both');
        expect(log.got).toEqual([1, 2]);
        expect(log.gaps).toEqual([]);
        expect(memberLog!.got).toEqual([1, 2]);
        expect(memberLog!.gaps).toEqual([]);
      } finally {
        await teardown();
        await closeStore();
      }
    });
  });
}
