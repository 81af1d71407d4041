/** A parked session with 600 rooms and more distinct epochs than the encoding's back-references cover. */
import { expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MemoryStore } from '../../src/server/stores/memory.js';
import { newSessionId } from '../../src/server/sessions.js';
import type { SessionRecord } from '../../src/server/stores/store.js';

it('600 rooms, distinct and repeated epochs (raw, text, shared), huge offsets round-trip parked', async () => {
  let time = 1_700_000_000_000;
  const store = new MemoryStore({ sweepIntervalMs: 0, now: () => time });
  const id = newSessionId();
  const rooms: SessionRecord['rooms'] = {};
  const positions: SessionRecord['positions'] = {};
  const epochs = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? randomBytes(8).toString('base64url') : i % 3 === 1 ? `t${i}` : randomBytes(8).toString('base64url').slice(0, 10)));
  for (let i = 0; i < 600; i++) {
    const name = i % 7 === 0 ? String(i) : `r-${i}.x:y@z/${i}`;
    rooms[name] = { epoch: epochs[i % 300]!, offset: [0, 2 ** 31 + i, 2 ** 53 + 2 * i, 2 ** 70, 1.25][i % 5]! };
    positions[`room:${name}`] = { epoch: epochs[(i * 7) % 300]!, offset: i };
  }
  positions[`session:${id}`] = { epoch: epochs[299]!, offset: 2 ** 52 };
  positions['session:other'] = { epoch: epochs[0]!, offset: 2 ** 52 + 1 };
  const record: SessionRecord = { id, tokenHash: 'f'.repeat(64), prevTokenHash: 'A'.repeat(64), user: 'ü', rooms, positions, lastSeq: 2 ** 53 - 1, createdAt: time, owner: 'i/1', expiresAt: null };
  await store.createSession(record);
  await store.detachSession(id, 'i/1', 5000);
  expect(await store.getSession(id)).toEqual({ ...record, owner: null, expiresAt: time + 5000 });
  time += 4999;
  expect(await store.takeExpiredSessions(time, 10)).toEqual([]);
  expect(await store.resumeSession(id, { prevTokenHash: 'b'.repeat(64) }, 'i/2')).toMatchObject({ previous: null });
  time += 10;
  await store.detachSession(id, 'i/2', 100);
  expect((await store.getSession(id))!.expiresAt).toBe(time + 100);
  time += 100;
  expect(await store.takeExpiredSessions(time, 10)).toEqual([id]);
  await store.close();
});
