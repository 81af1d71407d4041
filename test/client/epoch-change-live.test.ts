/**
 * A live message of a recreated stream (a new epoch) that is not the new epoch's first: the
 * messages before it were published while this server's live feed missed them (a lost pub/sub
 * notification during a store failover, simulated here by muting the feed of a real
 * MemoryStore). The client must fetch them (RESYNC from offset 1 of the new epoch) and deliver
 * the new epoch whole, in order and once, after reporting what the old epoch lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/server/index.js';
import type { Store } from '../../src/server/stores/store.js';
import { connect, startServer, teardownAll, waitFor } from './integration-helpers.js';
import type { StreamGap } from '../../src/protocol/index.js';

afterEach(teardownAll);

/** A real MemoryStore whose live notifications can be muted (they are lost, not delayed). */
function mutableFeed(store: MemoryStore): { store: Store; mute: (on: boolean) => void } {
  let muted = false;
  const wrapped = new Proxy(store, {
    get(target, key) {
      if (key === 'subscribe') {
        return (stream: string, listener: (entry: unknown) => void) =>
          target.subscribe(stream, (entry) => {
            if (!muted) listener(entry);
          });
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as Store;
  return { store: wrapped, mute: (on) => (muted = on) };
}

describe('live messages in a new epoch', () => {
  it('fetches the new epoch from its start when its first live message is not offset 1', async () => {
    const memory = new MemoryStore();
    const feed = mutableFeed(memory);
    const server = await startServer({ store: feed.store });
    const c = connect(server.url);
    const gaps: StreamGap[] = [];
    c.ws.on('gap', (g) => gaps.push(g));
    await c.ws.join('x');
    for (const id of ['a1', 'a2']) await server.publish('x', { id });
    await waitFor(() => c.messages.length === 2, 'the first epoch');
    const oldEpoch = (await memory.info('room:x')).epoch;

    // the stream is lost and recreated; its first two messages never reach the live feed
    await memory.deleteStream('room:x');
    feed.mute(true);
    await server.publish('x', { id: 'b1' });
    await server.publish('x', { id: 'b2' });
    feed.mute(false);
    await server.publish('x', { id: 'b3' });
    const newEpoch = (await memory.info('room:x')).epoch;
    expect(newEpoch).not.toBe(oldEpoch);

    await waitFor(() => c.messages.length >= 5, 'the new epoch');
    await new Promise((r) => setTimeout(r, 100)); // anything doubled would arrive by now
    expect(c.messages.map((m) => (m.data as { id: string }).id)).toEqual(['a1', 'a2', 'b1', 'b2', 'b3']);
    expect(c.messages.slice(2).map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(gaps).toEqual([{ stream: 'room:x', reason: 'epoch_changed', from: 3 }]);
    expect(c.errors).toEqual([]);
  });
});
