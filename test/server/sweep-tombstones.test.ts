/**
 * The expiry sweep takes a batch of sessions out of the store, then ends them one by one (direct
 * stream, state, hook). Every session of the batch gets its tombstone first, so a late resume of
 * any of them meanwhile is told `expired`, not `unknown`.
 */
import { afterEach, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import { TestClient, connectNew, startServer, teardown, until } from './helpers.js';

afterEach(teardown);

it('a resume of a session whose batch is still being ended is answered expired', async () => {
  const store = new MemoryStore();
  const deleteStream = store.deleteStream.bind(store);
  let hold: Promise<void> | undefined;
  let reachedHold!: () => void;
  const reached = new Promise<void>((r) => (reachedHold = r));
  // the sweep's first deleteStream waits: the batch is half ended
  store.deleteStream = async (stream) => {
    if (hold) {
      const h = hold;
      hold = undefined;
      reachedHold();
      await h;
    }
    return deleteStream(stream);
  };
  const server = await startServer({ store, sessionTtl: 50, sweepInterval: 60_000, tombstoneTtl: 60_000 });
  const sessions: Array<Awaited<ReturnType<typeof connectNew>>['session']> = [];
  for (let i = 0; i < 3; i++) {
    const { client, session } = await connectNew(server);
    client.ws.terminate();
    await client.closed;
    sessions.push(session);
  }
  await until(async () => (await Promise.all(sessions.map((s) => store.getSession(s.sessionId)))).every((r) => r === null), 'every session expired', 5000);
  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  const swept = server.sweepExpiredSessions();
  await reached;
  const answers = [];
  for (const s of sessions) {
    const late = await TestClient.open(server.url);
    late.send({ type: 'RECONNECT', v: 1, sessionId: s.sessionId, resumeToken: s.resumeToken, positions: {}, lastAckedSeq: 0 });
    answers.push((await late.next('NEW_SESSION')).reason);
  }
  release();
  await swept;
  expect(answers).toEqual(['expired', 'expired', 'expired']);
});
