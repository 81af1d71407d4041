import { describe, expect, it } from 'vitest';
import { StreamFeed } from '../../src/server/stores/redis-feed.js';
import type { FeedReader } from '../../src/server/stores/redis-feed.js';
import type { StreamEntry } from '../../src/server/stores/store.js';

const e = (offset: number, epoch = 'E'): StreamEntry => ({ stream: 'room:r', epoch, offset, id: `m${offset}`, from: null, user: null, data: null, ts: 0 });

/** A history of offsets 1..last in epoch E, readable like the store's `read`. */
function history(last: () => number, first = () => 1): { read: FeedReader; reads: number[] } {
  const reads: number[] = [];
  const read: FeedReader = async (after, limit) => {
    reads.push(after);
    const entries: StreamEntry[] = [];
    for (let o = Math.max(after + 1, first()); o <= last() && entries.length < limit; o++) entries.push(e(o));
    return { info: { epoch: 'E', firstOffset: first(), lastOffset: last() }, entries };
  };
  return { read, reads };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A stream that holds 1..lastE in epoch E until `recreate()`, then 1..lastF in epoch F (Redis
 * lost it and it was written again), readable like the store's `read`. `gate`, if given, is
 * awaited before every answer.
 */
function recreated(lastE: number, lastF: number, gate?: () => Promise<void>): { read: FeedReader; reads: string[]; recreate(): void } {
  let epoch = 'E';
  const reads: string[] = [];
  const read: FeedReader = async (after, limit) => {
    await gate?.();
    reads.push(`${epoch}>${after}`);
    const last = epoch === 'E' ? lastE : lastF;
    const entries: StreamEntry[] = [];
    for (let o = after + 1; o <= last && entries.length < limit; o++) entries.push(e(o, epoch));
    return { info: { epoch, firstOffset: 1, lastOffset: last }, entries };
  };
  return {
    read,
    reads,
    recreate: () => {
      epoch = 'F';
    },
  };
}

describe('StreamFeed (pure delivery logic behind the Redis store\'s subscriptions)', () => {
  it('fills a hole from history before delivering what arrived past it, exactly once', async () => {
    let last = 3;
    const { read } = history(() => last);
    const feed = new StreamFeed(read, (error) => { throw error; });
    const seen: number[] = [];
    feed.listeners.add((x) => seen.push(x.offset));
    feed.setFloor({ epoch: 'E', firstOffset: 1, lastOffset: 0 });
    feed.push(e(1));
    last = 6;
    feed.push(e(4)); // 2 and 3 were lost
    feed.push(e(5)); // arrives while the fill runs
    await tick();
    feed.push(e(6));
    feed.push(e(6)); // a duplicate never reaches listeners
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('catches up after a reconnect from the last delivered offset, or from the floor', async () => {
    let last = 5;
    const { read, reads } = history(() => last);
    const feed = new StreamFeed(read, () => undefined);
    const seen: number[] = [];
    feed.listeners.add((x) => seen.push(x.offset));
    feed.setFloor({ epoch: 'E', firstOffset: 1, lastOffset: 5 });
    last = 7;
    feed.resync();
    await tick();
    expect(seen).toEqual([6, 7]);
    expect(reads).toEqual([5]);
    feed.resync();
    await tick();
    expect(seen).toEqual([6, 7]);
  });

  it('delivers entries published after subscribing even when they are at or below the floor', async () => {
    const feed = new StreamFeed(history(() => 3).read, () => undefined);
    const seen: number[] = [];
    feed.listeners.add((x) => seen.push(x.offset));
    feed.setFloor({ epoch: 'E', firstOffset: 1, lastOffset: 3 });
    feed.push(e(3));
    feed.push(e(4));
    expect(seen).toEqual([3, 4]);
  });

  it('passes a trimmed hole and a new epoch through to listeners, as a client would see them', async () => {
    let first = 1;
    const { read } = history(() => 9, () => first);
    const feed = new StreamFeed(read, () => undefined);
    const seen: string[] = [];
    feed.listeners.add((x) => seen.push(`${x.epoch}${x.offset}`));
    feed.push(e(1));
    first = 8;
    feed.push(e(9));
    await tick();
    feed.push(e(1, 'F'));
    expect(seen).toEqual(['E1', 'E8', 'E9', 'F1']);
  });

  it('fills a new epoch from its start when pub/sub missed its first entries', async () => {
    const { read, reads, recreate } = recreated(3, 4);
    const feed = new StreamFeed(read, (error) => { throw error; });
    const seen: string[] = [];
    feed.listeners.add((x) => seen.push(`${x.epoch}${x.offset}`));
    feed.setFloor({ epoch: 'E', firstOffset: 1, lastOffset: 0 });
    for (const o of [1, 2, 3]) feed.push(e(o));
    recreate();
    // A live entry of the new epoch past offset 1: F1 and F2 went by while pub/sub was down.
    feed.push(e(3, 'F'));
    feed.push(e(4, 'F')); // arrives while the fill runs
    await tick();
    expect(seen).toEqual(['E1', 'E2', 'E3', 'F1', 'F2', 'F3', 'F4']);
    expect(reads).toEqual(['F>3', 'F>0']);
  });

  it('reads a new epoch from its start when a reconnect finds the stream recreated', async () => {
    const { read, recreate } = recreated(5, 2);
    const feed = new StreamFeed(read, () => undefined);
    const seen: string[] = [];
    feed.listeners.add((x) => seen.push(`${x.epoch}${x.offset}`));
    feed.setFloor({ epoch: 'E', firstOffset: 1, lastOffset: 5 });
    recreate();
    feed.resync();
    await tick();
    feed.push(e(2, 'F')); // pub/sub's copy of an entry the fill delivered
    feed.push(e(3, 'F'));
    expect(seen).toEqual(['F1', 'F2', 'F3']);
  });

  it('keeps epoch order when the stream is recreated while a fill runs: the old epoch\'s waiting entries first, none of it after', async () => {
    // The first read (the fill of E2) is answered after Redis restarted: the stream is F1..F2.
    let release: (() => void) | undefined;
    const gate = (): Promise<void> => (release === undefined ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve());
    const { read, recreate } = recreated(4, 2, gate);
    const feed = new StreamFeed(read, (error) => { throw error; });
    const seen: string[] = [];
    feed.listeners.add((x) => seen.push(`${x.epoch}${x.offset}`));
    feed.setFloor({ epoch: 'E', firstOffset: 1, lastOffset: 0 });
    feed.push(e(1));
    feed.push(e(3)); // E2 lost: a fill starts
    feed.push(e(4)); // waits behind the fill
    await tick();
    recreate();
    release!();
    await tick();
    feed.push(e(3, 'F'));
    feed.push(e(4, 'E')); // a late copy from before the restart changes nothing
    feed.push(e(4, 'F'));
    expect(seen).toEqual(['E1', 'E3', 'E4', 'F1', 'F2', 'F3', 'F4']);
  });

  it('delivers what waited when history cannot be read, instead of holding it forever', async () => {
    const feed = new StreamFeed(async () => { throw new Error('down'); }, () => undefined);
    const seen: number[] = [];
    feed.listeners.add((x) => seen.push(x.offset));
    feed.push(e(1));
    feed.push(e(3));
    feed.push(e(4));
    await tick();
    expect(seen).toEqual([1, 3, 4]);
  });
});
